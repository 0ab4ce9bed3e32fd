// Readiness of the backing stores, for uptime monitors: each checked with a short timeout, in
// parallel, at most once a second per instance (the endpoint is public and unlimited: a flood of
// checks must not become a flood of queries). Only the health function imports this module.
import { ApiError } from './errors.js';
import { query } from './postgres.js';
import { sharedRedis } from './redis.js';

const CHECK_TIMEOUT_MS = 1000;
/** How long an instance answers its last result (a 503 too), from when that check started. */
const RESULT_REUSE_MS = 1000;

type CheckStatus = 'ok' | 'unavailable' | 'not_configured';
export interface Health {
  status: 'ok';
  checks: Record<'redis' | 'postgres', { status: CheckStatus; durationMs?: number }>;
}

let last: { startedAt: number; result: Promise<Health> } | undefined;

/** 200 body when every configured store answers; otherwise 503 naming the ones that did not. */
export function checkHealth(): Promise<Health> {
  const now = performance.now();
  if (!last || now - last.startedAt >= RESULT_REUSE_MS) last = { startedAt: now, result: runChecks() };
  return last.result;
}

async function runChecks(): Promise<Health> {
  const redis = sharedRedis();
  const [redisCheck, postgresCheck] = await Promise.all([
    redis ? timed(() => redis.ping()) : { status: 'not_configured' as const },
    timed(() => query('select 1')),
  ]);
  const checks = { redis: redisCheck, postgres: postgresCheck };
  const down = Object.entries(checks).filter(([, check]) => check.status === 'unavailable').map(([name]) => name);
  if (down.length > 0) {
    throw new ApiError('service_unavailable', {
      detail: `Unavailable: ${down.join(', ')}`,
      retryAfterSeconds: 5,
      extensions: { checks },
      logFields: { unavailable: down.join(',') },
    });
  }
  return { status: 'ok', checks };
}

async function timed(check: () => Promise<unknown>): Promise<{ status: CheckStatus; durationMs: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([check(), timeout]);
    return { status: 'ok', durationMs: Math.round(performance.now() - started) };
  } catch {
    return { status: 'unavailable', durationMs: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}
