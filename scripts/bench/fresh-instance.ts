// A fresh instance's first request, run in a new Node process by cold-start.ts (bundled, as the
// functions are): import one bundle, then make its first request, timing each. Prints the times as
// JSON. The Request is built before the clock starts: the platform builds it, not the function.
import type { bareMe } from './bare-me.js';
import type { startBaselines } from './baselines.js';
import type { FirstRequest } from './cold-start.js';
import { expectStatus, loginRequest, meRequest } from './requests.js';

const input = JSON.parse(process.argv[2]!) as FirstRequest;
const request = input.flow === 'login' ? loginRequest(input.setup.appid, input.person) : meRequest(input.token);

const started = performance.now();
const module = (await import(input.bundle)) as {
  default: { fetch(request: Request): Promise<Response> };
  startBaselines: typeof startBaselines;
  bareMe: typeof bareMe;
};
const imported = performance.now();
if (input.variant === 'ours') {
  await expectStatus(await module.default.fetch(request), 200, input.flow);
} else if (input.flow === 'login') {
  await module.startBaselines(input.setup).bareLogin(input.person);
} else {
  await module.bareMe(input.setup)(input.token);
}
process.stdout.write(JSON.stringify({ importMs: imported - started, firstMs: performance.now() - imported }));
process.exit(0);
