// Concurrency over HTTP: one local server process (npm run dev's, with the benchmark's backends),
// loaded by closed-loop keep-alive clients; throughput, latency, errors and the server's memory.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { load, summarize, type HttpRequest } from './measure.js';
import type { ConcurrencyRow } from './report.js';

export interface ConcurrencyPlan {
  /** Client counts, and for each the number of login and /me requests. */
  clients: number[];
  logins: number[];
  mes: number[];
  appid: string;
  newPerson: () => string;
  tokens: string[];
  progress: (line: string) => void;
  signal: AbortSignal;
}

export async function concurrencyOverHttp(plan: ConcurrencyPlan) {
  const server = spawn(process.execPath, ['--import', 'tsx', 'scripts/dev.ts'], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      server.once('exit', (code) => reject(new Error(`the local server exited (code ${code})`)));
      // Keep reading: the access log goes to this pipe, and a full pipe would stall the server.
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const match = /listening on (http:\S+)/.exec(line);
        if (match) resolve(match[1]!);
      });
    });
    const rssStartMb = await rssMb(server.pid!);
    const concurrency: ConcurrencyRow[] = [];
    let requests = 0;
    for (const [level, clients] of plan.clients.entries()) {
      for (const flow of ['login', 'me'] as const) {
        const total = (flow === 'login' ? plan.logins : plan.mes)[level]!;
        plan.progress(`HTTP ${flow === 'me' ? '/me' : 'login'}: ${clients} clients, ${total} requests`);
        const result = await load(url, clients, total, (i) => httpRequest(plan, flow, i), plan.signal);
        requests += result.requests;
        concurrency.push({
          flow,
          clients,
          requests: result.requests,
          errors: result.errors,
          firstError: result.firstError,
          throughput: result.requests / result.seconds,
          summary: summarize(result.samples),
          rssMb: await rssMb(server.pid!),
        });
      }
    }
    return { concurrency, memory: { rssStartMb, rssEndMb: await rssMb(server.pid!), requests } };
  } finally {
    server.kill();
  }
}

function httpRequest(plan: ConcurrencyPlan, flow: 'login' | 'me', i: number): HttpRequest {
  return flow === 'login'
    ? {
        method: 'POST',
        path: '/api/login',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: `mock:${plan.newPerson()}`, appid: plan.appid }),
      }
    : { method: 'GET', path: '/api/me', headers: { authorization: `Bearer ${plan.tokens[i % plan.tokens.length]}` } };
}

/** Resident set size of a process, in MB (ps works on Linux and macOS). */
async function rssMb(pid: number): Promise<number> {
  const ps = spawn('ps', ['-o', 'rss=', '-p', String(pid)]);
  let out = '';
  for await (const chunk of ps.stdout) out += chunk;
  return Number(out.trim()) / 1024;
}
