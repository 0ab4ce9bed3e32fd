// The edges of HTTP, over a real socket to the local server (which hands requests to the functions
// as Vercel does): request ids a client must not choose, duplicate credentials, requests Fetch
// cannot represent, stalled bodies.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../server/http.js';
import { accessLog, startStack, type Stack } from './support/stack.js';

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
    const request = httpRequest({ host: '127.0.0.1', port, method, path, headers, agent: false });
    const read = (response: IncomingMessage, body: Readable, head: Buffer[] = []) => {
      const chunks = head;
      body.on('data', (chunk: Buffer) => chunks.push(chunk));
      body.on('end', () => {
        request.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text ? JSON.parse(text) : undefined });
      });
    };
    request.on('response', (response) => read(response, response));
    // Node's client hands the answer to a CONNECT over as the bare socket.
    request.on('connect', (response, socket, head) => read(response, socket, [head]));
    request.on('error', reject);
    request.write(body);
    if (!stall) request.end();
  });
}

function logLineOf(requestId: unknown) {
  return accessLog.map((line) => JSON.parse(line)).find((line) => line.requestId === requestId);
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

describe('requests the local server must still answer', () => {
  it('a malformed Host: 400 invalid_request', async () => {
    expectProblem(await send('GET', '/api/health', { Host: '[bad' }), 400, 'invalid_request');
  });

  it.each(['TRACE', 'CONNECT'])('%s, which Fetch cannot represent: 405 method_not_allowed with Allow', async (method) => {
    const response = await send(method, '/api/me', { Host: 'localhost' });
    expectProblem(response, 405, 'method_not_allowed');
    expect(response.headers.allow).toBe('GET, DELETE');
  });

  it('what Node cannot parse (an unknown method): 400 invalid_request', async () => {
    expectProblem(await send('TRACK', '/api/me', { Host: 'localhost' }), 400, 'invalid_request');
  });

  it('an unknown path: 404 not_found with its X-Request-Id', async () => {
    expectProblem(await send('GET', '/api/nope', { Host: 'localhost' }), 404, 'not_found');
  });
});

describe('a stalled request body', () => {
  it('408 request_timeout once the body is 5 s late, logged as the client\'s, well before the 9 s budget', async () => {
    stack.wechat.resetCounts();
    const started = Date.now();
    // Content-Length: 100, then 10 bytes, and the connection stays open.
    const response = await send(
      'POST',
      '/api/login',
      { Host: 'localhost', 'Content-Type': 'application/json', 'Content-Length': '100' },
      { body: '{"code":"a', stall: true },
    );
    const elapsed = Date.now() - started;
    expectProblem(response, 408, 'request_timeout');
    expect(elapsed).toBeGreaterThanOrEqual(5000);
    expect(elapsed).toBeLessThan(6500);
    expect(logLineOf(response.headers['x-request-id'])).toMatchObject({ level: 'info', status: 408, code: 'request_timeout' });
    expect(stack.wechat.requestCount()).toBe(0);
  });
});
