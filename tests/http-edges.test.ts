// The edges of HTTP, over a real socket to the local server (which hands requests to the functions
// as Vercel does): request ids a client must not choose, duplicate credentials, requests Fetch
// cannot represent, stalled bodies.
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
