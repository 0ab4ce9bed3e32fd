// The files mainland platforms start wxlogin from agree with each other and with the platforms'
// rules: 微信云托管's containerPort is the port the image listens on; SCF's scf_bootstrap and Function
// Compute's bootstrap are executable LF scripts that start `npm start` on 0.0.0.0:9000. (The
// Dockerfile's steps themselves run in CI: npm run check:container.)
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (file: string) => readFile(new URL(file, root), 'utf8');
const exec = promisify(execFile);

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
    expect(dockerfile).toMatch(/^CMD \["npm", "start"\]$/m);
  });

  it('.dockerignore keeps secrets, dependencies and local data out of the image', async () => {
    const ignored = (await read('.dockerignore')).split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['.env', '.env.*', 'node_modules', '.git', '.data']));
  });
});

describe('scf_bootstrap (Tencent SCF) and bootstrap (Function Compute)', () => {
  let fakeNode: string;
  beforeAll(async () => {
    // A Node.js installation whose npm reports what it was started with, instead of starting the server.
    fakeNode = await mkdtemp(join(tmpdir(), 'wxlogin-bootstrap-'));
    await mkdir(join(fakeNode, 'bin'));
    await writeFile(join(fakeNode, 'bin', 'npm'), '#!/bin/sh\necho "$* PORT=$PORT HOST=$HOST HOME=$HOME NODE_ENV=$NODE_ENV PWD=$PWD"\n');
    await chmod(join(fakeNode, 'bin', 'npm'), 0o755);
  });
  afterAll(() => rm(fakeNode, { recursive: true, force: true }));

  it.each(['scf_bootstrap', 'bootstrap'])('%s is an executable bash script with LF line ends', async (file) => {
    const text = await read(file);
    expect(text.startsWith('#!/bin/bash\n')).toBe(true);
    expect(text).not.toContain('\r');
    expect((await stat(new URL(file, root))).mode & 0o111).toBe(0o111);
  });

  it('scf_bootstrap puts SCF\'s Node.js (or NODE_HOME\'s) first and runs npm start on 0.0.0.0:9000, HOME under /tmp', async () => {
    const { stdout } = await exec(new URL('scf_bootstrap', root).pathname, [], { cwd: tmpdir(), env: { PATH: '/usr/bin:/bin', NODE_HOME: fakeNode } });
    expect(stdout.trim()).toBe(`start PORT=9000 HOST=0.0.0.0 HOME=/tmp NODE_ENV=production PWD=${new URL('.', root).pathname.replace(/\/$/, '')}`);
    expect(await read('scf_bootstrap')).toContain('/var/lang/node22');
  });

  it('bootstrap keeps a PORT the platform sets (FC\'s listening port setting)', async () => {
    const { stdout } = await exec(new URL('bootstrap', root).pathname, [], { env: { PATH: `${fakeNode}/bin:/usr/bin:/bin`, PORT: '8080' } });
    expect(stdout).toMatch(/^start PORT=8080 HOST=0\.0\.0\.0 /);
  });
});
