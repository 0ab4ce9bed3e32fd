// `npm run dev` (or `npm start`) as a child process with an environment of the caller's choosing: a
// deployment of its own, served over real HTTP, or a start-up that must fail.
import { spawn } from 'node:child_process';

export interface Dev {
  output(): string;
  /** Its URL once it listens; null if it exited first. */
  listening: Promise<string | null>;
  exitCode: Promise<number | null>;
  stop(): Promise<void>;
}

/** `npm run <script>` with only `env` besides PATH and HOME: what a fresh shell has, plus that. */
export function startDev(env: Record<string, string>, script: 'dev' | 'start' = 'dev'): Dev {
  const child = spawn('npm', ['run', script], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const exitCode = new Promise<number | null>((resolve) => child.once('close', resolve));
  const listening = new Promise<string | null>((resolve) => {
    const collect = (chunk: Buffer) => {
      output += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    void exitCode.then(() => resolve(null));
  });
  return {
    output: () => output,
    listening,
    exitCode,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
      await exitCode;
    },
  };
}

/** startDev, for a process that must come up: its URL, or the reason it did not start. */
export async function startListening(env: Record<string, string>, script: 'dev' | 'start' = 'dev'): Promise<Dev & { url: string }> {
  const dev = startDev(env, script);
  const url = await dev.listening;
  if (!url) throw new Error(`npm run ${script} exited:\n${dev.output()}`);
  return { ...dev, url };
}
