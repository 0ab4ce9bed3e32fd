// Timing loops: interleaved single calls for latency, closed-loop HTTP clients for concurrency.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentiles, in milliseconds. */
export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
  const round = (ms: number) => Math.round(ms * 1000) / 1000;
  return {
    n: sorted.length,
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    max: round(sorted.at(-1) ?? NaN),
    mean: round(sorted.reduce((sum, ms) => sum + ms, 0) / sorted.length),
  };
}

/** Prepares one call (untimed) and returns the call to time. */
export type Variant = (iteration: number) => Promise<() => Promise<unknown>>;

/** Per call: wall-clock milliseconds, and this process's CPU milliseconds (our code and the clients'). */
export interface Timings {
  wall: number[];
  cpu: number[];
}

/**
 * Runs every variant once per iteration, in a fresh random order each time, so drift in the
 * machine's load hits all of them alike. The first `warmup` iterations are not recorded.
 */
export async function interleave(variants: Record<string, Variant>, iterations: number, warmup: number, signal: AbortSignal) {
  const names = Object.keys(variants);
  const timings: Record<string, Timings> = Object.fromEntries(names.map((name) => [name, { wall: [], cpu: [] }]));
  for (let i = 0; i < warmup + iterations; i++) {
    signal.throwIfAborted();
    for (const name of shuffled(names)) {
      const call = await variants[name]!(i);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await call();
      const elapsed = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      if (i >= warmup) {
        timings[name]!.wall.push(elapsed);
        timings[name]!.cpu.push((cpu.user + cpu.system) / 1000);
      }
    }
  }
  return timings;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface LoadResult {
  clients: number;
  requests: number;
  errors: number;
  /** Status or error class of the first failure, to say what went wrong. */
  firstError: string | null;
  seconds: number;
  samples: number[];
}

/** `clients` closed-loop clients, each on its own keep-alive connection, until `total` requests are done. */
export async function load(
  origin: string,
  clients: number,
  total: number,
  next: (index: number) => HttpRequest,
  signal: AbortSignal,
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1 });
  const samples: number[] = [];
  let issued = 0;
  let errors = 0;
  let firstError: string | null = null;
  const fail = (reason: string) => {
    errors += 1;
    firstError ??= reason;
  };
  const client = async () => {
    while (issued < total) {
      signal.throwIfAborted();
      const { method, path, headers, body } = next(issued++);
      const started = performance.now();
      try {
        const response = await pool.request({ method, path, headers, body: body ?? null });
        await response.body.text();
        samples.push(performance.now() - started);
        if (response.statusCode !== 200) fail(`HTTP ${response.statusCode}`);
      } catch (error) {
        fail((error as Error).name);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { clients, requests: total, errors, firstError, seconds, samples };
}

export function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
