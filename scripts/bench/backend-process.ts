// Child process of `npm run bench`: the fake WeChat, the Upstash gateway and the pg bridge, in a
// process of their own so their work never runs on the measured event loop (real backends are
// remote too). Talks to the parent over IPC; see backends.ts.
import { startFakeWechat } from '../local/fake-wechat.js';
import { startUpstashGateway } from '../local/upstash-gateway.js';
import { startPgBridge } from '../local/pg-bridge.js';
import type { BackendOptions, BackendReply, BackendRequest } from './backends.js';

const options = JSON.parse(process.argv[2]!) as BackendOptions;
const wechat = await startFakeWechat({
  apps: [{ appid: options.appid, secret: options.secret, openPlatform: true }],
  // "mock:<person>" logs <person> in: the benchmark needs no code round trip to the fake.
  acceptAnyCode: true,
});
const gateway = await startUpstashGateway(options.redisUrl);
const bridge = await startPgBridge(options.postgres);

const send = (reply: BackendReply) => process.send!(reply);
// Never outlive the benchmark, however it ends.
process.on('disconnect', () => process.exit(0));

process.on('message', async (request: BackendRequest) => {
  const { id, op } = request;
  if (op === 'latency') {
    wechat.setLatency(request.wechatMs);
    gateway.setDelay(request.backendMs);
    bridge.setDelay(request.backendMs);
    send({ id });
  } else if (op === 'counts') {
    send({ id, counts: { wechat: wechat.requestCount(), postgres: bridge.roundTrips(), redis: gateway.counts().requests } });
  } else if (op === 'reset') {
    wechat.resetCounts();
    bridge.resetCounts();
    gateway.resetCounts();
    send({ id });
  } else {
    await Promise.all([wechat.close(), gateway.close(), bridge.close()]);
    send({ id });
  }
});

send({
  id: 0,
  ready: { wechatUrl: wechat.url, gatewayUrl: gateway.url, gatewayToken: gateway.token, bridgeAddress: bridge.address },
});
