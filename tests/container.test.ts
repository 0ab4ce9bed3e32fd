// The files mainland platforms start wxlogin from agree with each other and with the platforms'
// rules: 微信云托管's containerPort is the port the image listens on; SCF's scf_bootstrap and Function
// Compute's bootstrap are executable LF scripts that exec package.json's start on 0.0.0.0:9000. (The
// Dockerfile's steps themselves run in CI: npm run check:container.)
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (file: string) => readFile(new URL(file, root), 'utf8');

describe('Dockerfile and container.config.json', () => {
  it('微信云托管\'s containerPort is the PORT the image sets and exposes', async () => {
    const dockerfile = await read('Dockerfile');
    const config = JSON.parse(await read('container.config.json')) as { containerPort: number; minNum: number };
    expect(/^ENV .*\bPORT=(\d+)/m.exec(dockerfile)?.[1]).toBe(String(config.containerPort));
    expect(/^EXPOSE (\d+)$/m.exec(dockerfile)?.[1]).toBe(String(config.containerPort));
    // minNum 0 scales to zero: the first login after an idle spell pays a cold start.
    expect(config.minNum).toBeGreaterThanOrEqual(1);
  });

  it('builds on the Node.js major package.json pins, and starts with npm start on 0.0.0.0', async () => {
    const dockerfile = await read('Dockerfile');
    const { engines } = JSON.parse(await read('package.json')) as { engines: { node: string } };
    expect(/^FROM node:(\d+)[-.]/m.exec(dockerfile)?.[1]).toBe(engines.node.split('.')[0]);
    expect(dockerfile).toMatch(/^ENV .*\bHOST=0\.0\.0\.0\b/m);
    expect(dockerfile).toMatch(/^CMD \["\.\/bootstrap"\]$/m);
  });

  it('.dockerignore keeps secrets, dependencies and local data out of the image', async () => {
    const ignored = (await read('.dockerignore')).split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.env', '.env.*', 'node_modules', '.git', '.data']));
  });
});

describe('bootstrap (the Dockerfile\'s CMD, Function Compute) and scf_bootstrap (Tencent SCF)', () => {
  let app: string;
  beforeAll(async () => {
    // A code package whose "start" reports how it was started instead of starting the server.
    app = await mkdtemp(join(tmpdir(), 'wxlogin-bootstrap-'));
    for (const file of ['bootstrap', 'scf_bootstrap']) await copyFile(new URL(file, root), join(app, file));
    await writeFile(join(app, 'package.json'), JSON.stringify({ scripts: { start: 'report --flag' } }));
    await mkdir(join(app, 'node_modules', '.bin'), { recursive: true });
    const report = 'echo "pid=$$ args=$* PORT=$PORT HOST=$HOST HOME=$HOME NODE_ENV=$NODE_ENV PATH=$PATH"';
    await writeFile(join(app, 'node_modules', '.bin', 'report'), `#!/bin/sh\n${report}\n`);
    await chmod(join(app, 'node_modules', '.bin', 'report'), 0o755);
  });
  afterAll(() => rm(app, { recursive: true, force: true }));

  /** Runs a copied bootstrap file; what "start" reported, and the pid the platform started. */
  const started = (file: string, env: Record<string, string>) =>
    new Promise<{ pid: number; report: string }>((resolve, reject) => {
      const child = execFile(join(app, file), [], { cwd: tmpdir(), env }, (error, stdout) => (error ? reject(error) : resolve({ pid: child.pid!, report: stdout.trim() })));
    });
  const nodeHome = dirname(dirname(process.execPath));

  it.each(['scf_bootstrap', 'bootstrap'])('%s is an executable bash script with LF line ends', async (file) => {
    const text = await read(file);
    expect(text.startsWith('#!/bin/bash\n')).toBe(true);
    expect(text).not.toContain('\r');
    expect((await stat(new URL(file, root))).mode & 0o111).toBe(0o111);
  });

  it('bootstrap execs package.json\'s start (the process the platform signals is the server) on 0.0.0.0:9000, HOME under /tmp', async () => {
    const { pid, report } = await started('bootstrap', { PATH: `${nodeHome}/bin:/usr/bin:/bin` });
    expect(report).toMatch(new RegExp(`^pid=${pid} args=--flag PORT=9000 HOST=0\\.0\\.0\\.0 HOME=/tmp NODE_ENV=production PATH=${app}/node_modules/\\.bin:`));
  });

  it('bootstrap keeps the PORT a platform sets (the Dockerfile\'s 80, FC\'s listening port setting)', async () => {
    const { report } = await started('bootstrap', { PATH: `${nodeHome}/bin:/usr/bin:/bin`, PORT: '80' });
    expect(report).toContain(' PORT=80 ');
  });

  it('scf_bootstrap runs bootstrap with SCF\'s Node.js 22 (or NODE_HOME\'s) first on the PATH', async () => {
    expect(await read('scf_bootstrap')).toContain('/var/lang/node22');
    const { report } = await started('scf_bootstrap', { PATH: '/usr/bin:/bin', NODE_HOME: nodeHome });
    expect(report).toContain(` PORT=9000 HOST=0.0.0.0 HOME=/tmp NODE_ENV=production PATH=${app}/node_modules/.bin:${nodeHome}/bin:/usr/bin:/bin`);
  });
});
