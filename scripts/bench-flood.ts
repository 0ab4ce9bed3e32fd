// npm run bench:flood — what a junk-code login flood from one address costs: WeChat calls and
// Upstash requests per refused request, on one local instance (the local server, real Redis through
// the Upstash gateway, the fake WeChat). Bounded: FLOOD_REQUESTS logins (default 2,000) to
// loopback. A junk code never reaches Postgres, so none is needed. Needs Redis as the tests do (REDIS_URL).
import { randomBytes } from 'node:crypto';
import { divertAccessLog } from './local/access-log.js';
import { startFakeWechat } from './local/fake-wechat.js';
import { startServer } from '../server/http.js';
import { startUpstashGateway } from './local/upstash-gateway.js';

const TOTAL = Number(process.env.FLOOD_REQUESTS ?? 2000);
const LIMIT = 30;
const APPID = 'wxflood000000000001';

divertAccessLog(() => {});
const wechat = await startFakeWechat({ apps: [{ appid: APPID, secret: 'flood-secret', openPlatform: false }] });
const gateway = await startUpstashGateway(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
Object.assign(process.env, {
  WECHAT_APPS: `${APPID}:flood-secret`,
  WECHAT_API_BASE: wechat.url,
  UPSTASH_REDIS_REST_URL: gateway.url,
  UPSTASH_REDIS_REST_TOKEN: gateway.token,
  // Never connected to: a junk code ends before Postgres.
  DATABASE_URL: 'postgres://flood@127.0.0.1:5432/unused',
  SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  // A namespace of this run's own, so earlier runs' counters do not count.
  REDIS_KEY_PREFIX: `wxlogin:bench-flood-${process.pid}:`,
  // The local server sets x-forwarded-for from the socket: every request comes from 127.0.0.1.
  TRUST_PROXY_HEADERS: '1',
  RATE_LIMIT_LOGIN_PER_IP: `${LIMIT}/1m`,
});
const server = await startServer({ port: 0 });

const statuses: Record<string, number> = {};
let wechatBefore = 0;
let redisBefore = 0;
let refused = 0;
for (let i = 0; i < TOTAL; i++) {
  const response = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: randomBytes(16).toString('hex'), appid: APPID }),
  });
  const { code } = (await response.json()) as { code: string };
  statuses[code] = (statuses[code] ?? 0) + 1;
  if (response.status === 429) refused += 1;
  // Counted from the first refusal on: what each refused request costs.
  if (refused === 1 && response.status === 429) {
    wechatBefore = wechat.requestCount();
    redisBefore = gateway.counts().requests;
  }
}
const wechatCalls = wechat.requestCount() - wechatBefore;
const redisRequests = gateway.counts().requests - redisBefore;
const perRefused = (count: number) => (refused > 1 ? count / (refused - 1) : 0).toFixed(3);
console.log(`junk-code flood from one address: ${TOTAL} logins, RATE_LIMIT_LOGIN_PER_IP=${LIMIT}/1m`);
console.log(`  answers: ${JSON.stringify(statuses)}`);
console.log(`  after the first refusal, per refused request: ${perRefused(wechatCalls)} WeChat calls, ${perRefused(redisRequests)} Upstash requests`);
console.log(`  before it: ${wechatBefore} WeChat calls, ${redisBefore} Upstash requests for ${LIMIT + 1} logins`);

await server.close();
await gateway.redis.del(...(await gateway.redis.keys(`${process.env.REDIS_KEY_PREFIX}*`)), 'none');
await Promise.all([wechat.close(), gateway.close()]);
if (refused !== TOTAL - LIMIT || wechatCalls > 0 || redisRequests > 0) {
  console.error('a refused request reached WeChat or Redis, or the limit let more through');
  process.exit(1);
}
