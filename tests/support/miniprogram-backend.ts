// What the mini program tests run against: the real local service (what `npm run dev` serves) on
// a stack of the test file's own, behind a recording front.
import { randomBytes } from 'node:crypto';
import { startServer } from '../../server/http.js';
import { startFront } from './recording-front.js';
import { startStack, type StackOptions } from './stack.js';

type FakeApp = NonNullable<StackOptions['apps']>[number];

/**
 * A mini program of the test file's own, bound to the Open Platform account all such apps share
 * (a person is one across them). Own appids, because the server caches WeChat's access_token per
 * appid in the shared Redis, and another file's fake WeChat would not know this one's.
 */
export function ownApp(): FakeApp {
  const id = randomBytes(7).toString('hex');
  return { appid: `wxm${id}`, secret: `secret-${id}`, openPlatform: true };
}

export async function startBackend(apps: FakeApp[], env: Record<string, string> = {}) {
  // Where avatar URLs point; the fake WeChat never downloads them.
  const stack = await startStack({ apps, env: { PUBLIC_BASE_URL: 'https://login.example.cn', ...env } });
  const service = await startServer({ port: 0 });
  const front = await startFront(service.url);
  return {
    stack,
    service,
    front,
    async close() {
      await front.close();
      await service.close();
      await stack.close();
    },
  };
}

export type Backend = Awaited<ReturnType<typeof startBackend>>;
