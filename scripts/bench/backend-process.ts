// Child process of `npm run bench`: the fake WeChat, the Upstash gateway and the pg bridge (and,
// for the standard stack, a Redis TCP pipe and a Postgres TCP pipe), in a process of their own so
// their work never runs on the measured event loop (real backends are remote too). Talks to the
// parent over IPC; see backends.ts.
import { startFakeWechat } from '../local/fake-wechat.js';
import { startUpstashGateway } from '../local/upstash-gateway.js';
import { startPgBridge } from '../local/pg-bridge.js';
import { startRedisPipe } from '../local/redis-pipe.js';
import type { BackendOptions, BackendReply, BackendRequest, Traffic } from './backends.js';

const options = JSON.parse(process.argv[2]!) as BackendOptions;
const wechat = await startFakeWechat({
  apps: [{ appid: options.appid, secret: options.secret, openPlatform: true }],
  // "mock:<person>" logs <person> in: the benchmark needs no code round trip to the fake.
  acceptAnyCode: true,
});
const gateway = await startUpstashGateway(options.redisUrl);
const bridge = await startPgBridge(options.postgres);
const pipe = await startRedisPipe(options.redisUrl);
const pgPipe = await startPgBridge(options.postgres, 0, 'tcp');

const send = (reply: BackendReply) => process.send!(reply);
// Never outlive the benchmark, however it ends.
process.on('disconnect', () => process.exit(0));

/** What reached the backends since 'begin'; recorded only then, so long runs keep nothing. */
let traffic: Omit<Traffic, 'postgres' | 'redisCommands'> | null = null;

process.on('message', async (request: BackendRequest) => {
  const { id, op } = request;
  if (op === 'latency') {
    wechat.setLatency(request.wechatMs);
    for (const front of [gateway, bridge, pipe, pgPipe]) front.setDelay(request.backendMs);
    send({ id });
  } else if (op === 'begin') {
    const recording: Omit<Traffic, 'postgres' | 'redisCommands'> = { wechat: [], redis: [] };
    traffic = recording;
    for (const counted of [bridge, pipe, pgPipe]) counted.resetCounts();
    wechat.observe((exchange) => recording.wechat.push(exchange));
    gateway.observe((exchange) => recording.redis.push(exchange));
    send({ id });
  } else if (op === 'end') {
    wechat.observe(null);
    gateway.observe(null);
    send({ id, traffic: { ...traffic!, postgres: bridge.roundTrips() + pgPipe.roundTrips(), redisCommands: pipe.counts().requests } });
    traffic = null;
  } else if (op === 'forgetScripts') {
    gateway.forgetScripts();
    send({ id });
  } else {
    await Promise.all([wechat.close(), gateway.close(), bridge.close(), pipe.close(), pgPipe.close()]);
    send({ id });
  }
});

send({
  id: 0,
  ready: {
    wechatUrl: wechat.url,
    gatewayUrl: gateway.url,
    gatewayToken: gateway.token,
    bridgeAddress: bridge.address,
    redisPipeUrl: pipe.url,
    pgPipeAddress: pgPipe.address,
  },
});
