// A mainland CDN on the ICP-filed domain in front of the deployment: the platform sees the CDN's
// address, the CDN names the client in a header of its own, and only requests carrying the CDN's
// secret are believed (a visitor going to the *.vercel.app address directly cannot pick one).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { APP_A, startStack, type Stack } from './support/stack.js';

const SECRET = randomBytes(32).toString('base64url');
const CDN_EGRESS = '198.18.0.1';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      TRUST_PROXY_HEADERS: '1',
      FRONT_PROXY_CLIENT_IP_HEADER: 'X-Client-IP',
      FRONT_PROXY_SECRET: SECRET,
      RATE_LIMIT_LOGIN_PER_IP: '2/1m',
    },
  });
});
afterAll(() => stack.close());

const client = () => `100.64.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
const login = (headers: Record<string, string>) =>
  stack.call('login', 'POST', { json: { code: stack.wechat.issueCode(APP_A, stack.person()), appid: APP_A }, headers: { 'x-real-ip': CDN_EGRESS, ...headers } });

it('counts each client the proxy names, not the proxy', async () => {
  for (let i = 0; i < 4; i++) expect((await login({ 'x-front-proxy-secret': SECRET, 'x-client-ip': client() })).status).toBe(200);
  const one = client();
  const statuses = [];
  for (let i = 0; i < 3; i++) statuses.push((await login({ 'x-front-proxy-secret': SECRET, 'x-client-ip': one })).status);
  expect(statuses).toEqual([200, 200, 429]);
});

it('believes no client header without the proxy\'s secret: those are counted by the address the platform saw', async () => {
  const direct = `198.18.1.${randomBytes(1)[0]}`;
  const statuses = [];
  for (let i = 0; i < 3; i++) {
    statuses.push((await login({ 'x-real-ip': direct, 'x-client-ip': client(), 'x-front-proxy-secret': i === 0 ? 'wrong' : '' })).status);
  }
  expect(statuses).toEqual([200, 200, 429]);
});
