// The edges of HTTP, over a real socket to the local server (which hands requests to the functions
// as Vercel does): request ids a client must not choose, duplicate credentials, requests Fetch
// cannot represent, stalled bodies.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../scripts/local/server.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let server: Awaited<ReturnType<typeof startServer>>;
beforeAll(async () => {
  stack = await startStack();
  server = await startServer({ port: 0 });
});
afterAll(async () => {
  await server.close();
  await stack.close();
});

describe('X-Request-Id', () => {
  it('off Vercel is ours, whatever x-vercel-id the client sends', async () => {
    const response = await stack.call('health', 'GET', { headers: { 'x-vercel-id': 'chosen-by-the-client' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('on Vercel is the platform\'s x-vercel-id, so our logs line up with Vercel\'s', async () => {
    process.env.VERCEL = '1';
    try {
      const response = await stack.call('health', 'GET', { headers: { 'x-vercel-id': 'hkg1::abcde-1700000000000-0123456789ab' } });
      expect(response.headers.get('x-request-id')).toBe('hkg1::abcde-1700000000000-0123456789ab');
    } finally {
      delete process.env.VERCEL;
    }
  });
});

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: any;
}

/**
 * One request over a fresh connection, headers exactly as given (repeat one with an array). With
 * `stall`, the body is sent but the request never ends, as a slow client's would not.
 */
function send(
  method: string,
  path: string,
  headers: Record<string, string | string[]>,
  { body = '', stall = false } = {},
): Promise<RawResponse> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        request.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text ? JSON.parse(text) : undefined });
      });
    });
    request.on('error', reject);
    request.write(body);
    if (!stall) request.end();
  });
}

function expectProblem(response: RawResponse, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.headers['cache-control']).toBe('no-store');
  expect(response.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  expect(response.body).toMatchObject({ status, code, requestId: response.headers['x-request-id'] });
}

describe('more than one credential', () => {
  it.each([
    ['two Authorization headers, the valid one first', (token: string) => [`Bearer ${token}`, 'Bearer junk']],
    ['two Authorization headers, the valid one last', (token: string) => ['Bearer junk', `Bearer ${token}`]],
    ['the same Authorization header twice', (token: string) => [`Bearer ${token}`, `Bearer ${token}`]],
    ['two credentials in one Authorization header', (token: string) => [`Bearer ${token}, Bearer junk`]],
  ])('%s: 400 invalid_request', async (_, credentials) => {
    const { token } = (await stack.login(stack.person())).body;
    expectProblem(await send('GET', '/api/me', { Host: 'localhost', Authorization: credentials(token) }), 400, 'invalid_request');
    // With one credential the same token works.
    expect((await send('GET', '/api/me', { Host: 'localhost', Authorization: `Bearer ${token}` })).status).toBe(200);
  });
});
