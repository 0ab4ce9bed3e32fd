// Round trips as the wire saw them, graded against what the product promises: which Upstash
// requests ran alongside the WeChat call (they add no latency) and which sat on the critical path.
import type { Traffic } from './backends.js';

export interface RoundTrips {
  wechat: number;
  postgres: number;
  /** Upstash requests on the critical path: sent before WeChat was asked or after it answered. */
  redis: number;
  /** Upstash requests in flight while the WeChat call was: free in latency, not in cost. */
  redisAlongside: number;
}

export type Flow = 'login' | 'me' | 'logout';

/**
 * The product's budget per request (lib/people/login.ts, lib/sessions/tokens.ts): login = WeChat → Postgres →
 * one Redis request, with the client address's limit alongside WeChat; /me and logout = one Redis
 * request each.
 */
export const BUDGETS: Record<Flow, RoundTrips> = {
  login: { wechat: 1, postgres: 1, redis: 1, redisAlongside: 1 },
  me: { wechat: 0, postgres: 0, redis: 1, redisAlongside: 0 },
  logout: { wechat: 0, postgres: 0, redis: 1, redisAlongside: 0 },
};

/** What Upstash carried for one request, on the wire (HTTP/1.1 without TLS). */
export interface UpstashBytes {
  requests: number;
  sent: number;
  received: number;
}

export function roundTripsOf(traffic: Traffic): RoundTrips {
  const alongside = traffic.redis.filter((redis) =>
    traffic.wechat.some((wechat) => redis.arrivedAt < wechat.answeredAt && redis.answeredAt > wechat.arrivedAt),
  ).length;
  return { wechat: traffic.wechat.length, postgres: traffic.postgres, redis: traffic.redis.length - alongside, redisAlongside: alongside };
}

/** The most any one request made of each: a budget holds for every request, not on average. */
export function most(all: RoundTrips[]): RoundTrips {
  const max = (key: keyof RoundTrips) => Math.max(...all.map((trips) => trips[key]));
  return { wechat: max('wechat'), postgres: max('postgres'), redis: max('redis'), redisAlongside: max('redisAlongside') };
}

export function withinBudget(trips: RoundTrips, budget: RoundTrips): boolean {
  return (Object.keys(budget) as (keyof RoundTrips)[]).every((key) => trips[key] <= budget[key]);
}

/** Upstash requests and bytes, of all requests or of those whose first command passes `only`. */
export function upstashBytes(traffic: Traffic, only: (command: string) => boolean = () => true): UpstashBytes {
  const exchanges = traffic.redis.filter((exchange) => only(exchange.commands[0] ?? ''));
  const sum = (pick: (exchange: Traffic['redis'][number]) => number) => exchanges.reduce((total, exchange) => total + pick(exchange), 0);
  return { requests: exchanges.length, sent: sum((e) => e.bytesIn), received: sum((e) => e.bytesOut) };
}

export function meanBytes(all: UpstashBytes[]): UpstashBytes {
  const mean = (key: keyof UpstashBytes) => all.reduce((total, bytes) => total + bytes[key], 0) / all.length;
  return { requests: mean('requests'), sent: mean('sent'), received: mean('received') };
}
