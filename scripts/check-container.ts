// npm run check:container: the Dockerfile's own steps, without Docker. Its COPY lines fill a clean
// folder (minus .dockerignore), its RUN lines run there in order, its ENV and CMD start the server,
// which must answer /api/health with 200 and exit 0 on SIGTERM. The server gets the standard stack
// a mainland deployment has: TCP Redis (REDIS_URL) and a plain PostgreSQL database of its own,
// migrated with `npm run db:migrate` as an operator would. A Dockerfile line this script cannot
// reproduce fails the check, so the Dockerfile cannot drift from what CI runs.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dropDatabase, recreateDatabase } from './local/postgres.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const postgres = { host: process.env.PGHOST ?? '127.0.0.1', port: Number(process.env.PGPORT ?? 5432) };
const pgUser = process.env.PGUSER ?? 'postgres';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const HEALTH_WAIT_MS = 60_000;
const DRAIN_WAIT_MS = 15_000;

type Step =
  | { kind: 'copy'; sources: string[] }
  | { kind: 'run'; command: string }
  | { kind: 'env'; values: Record<string, string> }
  | { kind: 'cmd'; argv: string[] };

/** The Dockerfile's instructions this check reproduces, in order; anything else is an error. */
function parseDockerfile(text: string): Step[] {
  const steps: Step[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  for (const line of lines) {
    const [, instruction = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    switch (instruction.toUpperCase()) {
      case 'FROM': // The Node.js major: tests/container.test.ts holds it to package.json's engines.
      case 'WORKDIR': // The clean folder stands in for it.
      case 'ARG': // Build arguments the check does not pass.
      case 'EXPOSE': // Documentation; PORT is what the server listens on.
        break;
      case 'COPY': {
        const parts = rest.split(/\s+/);
        if (parts.some((part) => part.startsWith('--')) || parts.at(-1) !== './' && parts.at(-1) !== '.') {
          throw new Error(`Dockerfile: cannot reproduce "${line}" (only COPY <paths> ./ or . .)`);
        }
        steps.push({ kind: 'copy', sources: parts.slice(0, -1) });
        break;
      }
      case 'RUN':
        steps.push({ kind: 'run', command: rest });
        break;
      case 'ENV':
        steps.push({ kind: 'env', values: Object.fromEntries(rest.split(/\s+/).map((pair) => pair.split('=') as [string, string])) });
        break;
      case 'CMD':
        steps.push({ kind: 'cmd', argv: JSON.parse(rest) as string[] });
        break;
      default:
        throw new Error(`Dockerfile: cannot reproduce "${line}"`);
    }
  }
  return steps;
}

/** .dockerignore's patterns (paths from the context root, * within one segment) as one test. */
async function dockerignore(): Promise<(path: string) => boolean> {
  const patterns = (await readFile(join(repo, '.dockerignore'), 'utf8')).split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  if (patterns.some((pattern) => /[!?[\]]|\*\*/.test(pattern))) throw new Error('.dockerignore: only plain paths and * are reproduced here');
  const regexes = patterns.map((pattern) => new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/|$)`));
  return (path) => regexes.some((regex) => regex.test(path));
}

async function copyContext(sources: string[], into: string, ignored: (path: string) => boolean): Promise<void> {
  for (const source of sources) {
    if (source === '.') {
      for (const entry of await readdir(repo)) {
        if (!ignored(entry)) await cp(join(repo, entry), join(into, entry), { recursive: true, filter: (from) => !ignored(relative(repo, from)) });
      }
    } else {
      if (ignored(source)) throw new Error(`Dockerfile copies ${source}, which .dockerignore leaves out`);
      await cp(join(repo, source), join(into, source), { recursive: true });
    }
  }
}

function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited with ${code}`))));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.once('error', reject);
  });
}

async function healthy(url: string, server: Promise<number | null>): Promise<unknown> {
  const until = Date.now() + HEALTH_WAIT_MS;
  let exited = false;
  void server.then(() => (exited = true));
  while (Date.now() < until && !exited) {
    const response = await fetch(url).catch(() => null);
    if (response) {
      const body: unknown = await response.json();
      if (response.status !== 200) throw new Error(`/api/health answered ${response.status}: ${JSON.stringify(body)}`);
      return body;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(exited ? 'the server exited before answering /api/health' : `no answer from /api/health within ${HEALTH_WAIT_MS / 1000} s`);
}

const steps = parseDockerfile(await readFile(join(repo, 'Dockerfile'), 'utf8'));
const ignored = await dockerignore();
const folder = await mkdtemp(join(tmpdir(), 'wxlogin-container-'));
const database = `wxlogin_container_${process.pid}`;
const adminUrl = `postgres://${pgUser}@${postgres.host}:${postgres.port}/postgres`;
const buildEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? folder };
const runtimeEnv: Record<string, string> = {};
let cmd: string[] | undefined;
try {
  for (const step of steps) {
    if (step.kind === 'copy') await copyContext(step.sources, folder, ignored);
    if (step.kind === 'run') {
      console.log(`check:container: RUN ${step.command}`);
      await run(['sh', '-c', step.command], folder, { ...buildEnv, ...runtimeEnv });
    }
    if (step.kind === 'env') Object.assign(runtimeEnv, step.values);
    if (step.kind === 'cmd') cmd = step.argv;
  }
  if (!cmd) throw new Error('Dockerfile: no CMD');

  await recreateDatabase(postgres, adminUrl, database);
  const port = await freePort();
  const env = {
    ...buildEnv,
    ...runtimeEnv,
    // What an operator sets on the platform. PORT is the one Dockerfile value replaced: 80 may be taken here.
    PORT: String(port),
    DATABASE_URL: `postgres://${pgUser}@${postgres.host}:${postgres.port}/${database}`,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `wxlogin:container-check-${process.pid}:`,
    WECHAT_APPS: 'wxcontainercheck01:not-a-real-secret',
    SESSION_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  };
  console.log('check:container: npm run db:migrate');
  await run(['npm', 'run', 'db:migrate'], folder, env);
  console.log(`check:container: CMD ${JSON.stringify(cmd)} on port ${port}`);
  const server = spawn(cmd[0]!, cmd.slice(1), { cwd: folder, env, stdio: 'inherit' });
  const exit = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  try {
    const body = await healthy(`http://127.0.0.1:${port}/api/health`, exit);
    console.log(`check:container: /api/health 200 ${JSON.stringify(body)}`);
  } finally {
    server.kill('SIGTERM');
  }
  const code = await Promise.race([exit, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), DRAIN_WAIT_MS))]);
  if (code === 'hung') {
    server.kill('SIGKILL');
    throw new Error(`the server did not exit within ${DRAIN_WAIT_MS / 1000} s of SIGTERM`);
  }
  if (code !== 0) throw new Error(`the server exited with ${code} after SIGTERM, not 0`);
  console.log('check:container: SIGTERM → exit 0');
} finally {
  await dropDatabase(postgres, adminUrl, database).catch(() => undefined);
  await rm(folder, { recursive: true, force: true });
}
