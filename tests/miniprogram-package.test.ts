// The mini program kit as an npm package: what `npm pack` ships (DevTools' 构建 npm copies its
// miniprogram_dist into miniprogram_npm/, bundlers such as uni-app's and Taro's read its root),
// that it runs from there against the real local service, and that its index.d.ts compiles on
// its own under --strict. The pack runs on a copy of the kit folder, so the folder stays clean.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type * as Kit from '../miniprogram/wxlogin/index.js';
import { startServer } from '../server/http.js';
import { APP_A, startStack, type Stack } from './support/stack.js';
import { createWx, miniprogramRuntime } from './support/wx-shim.js';

const KIT_DIR = fileURLToPath(new URL('../miniprogram/wxlogin/', import.meta.url));
/** The kit's files, as a mini program copies them: every .js and the types. */
const KIT_FILES = readdirSync(KIT_DIR).filter((file) => file.endsWith('.js') || file === 'index.d.ts').sort();

let stack: Stack;
let service: Awaited<ReturnType<typeof startServer>>;
let work: string;
let packed: { report: { name: string; files: { path: string }[]; filename: string }; source: string };

beforeAll(async () => {
  stack = await startStack();
  service = await startServer({ port: 0 });
  work = mkdtempSync(join(tmpdir(), 'wxlogin-kit-'));
  const source = join(work, 'source');
  cpSync(KIT_DIR, source, { recursive: true });
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: source, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  packed = { report: (JSON.parse(out) as (typeof packed)['report'][])[0]!, source };
});
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await service.close();
  await stack.close();
});

it('ships the kit at its root (bundlers) and in miniprogram_dist (构建 npm), and nothing else', () => {
  const expected = [...KIT_FILES, ...KIT_FILES.map((file) => `miniprogram_dist/${file}`), 'package.json'];
  expect(packed.report.files.map((file) => file.path).sort()).toEqual(expected.sort());
  const manifest = JSON.parse(readFileSync(join(KIT_DIR, 'package.json'), 'utf8')) as Record<string, unknown>;
  expect(manifest).toMatchObject({ name: 'wxlogin-miniprogram', miniprogram: 'miniprogram_dist', main: 'index.js', types: 'index.d.ts' });
  // The repository's licence (LICENSE), stated where npm and 构建 npm read it.
  expect(manifest.license).toBe(readFileSync(new URL('../LICENSE', import.meta.url), 'utf8').startsWith('MIT License') ? 'MIT' : 'see LICENSE');
  expect(manifest.name).not.toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).name);
  // Generated for the pack only: postpack removes it again.
  expect(existsSync(join(packed.source, 'miniprogram_dist'))).toBe(false);
});

it('runs from miniprogram_npm/ as 构建 npm lays it out, the same files as the folder a developer copies', async () => {
  const unpacked = join(work, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', join(work, packed.report.filename), '-C', unpacked]);
  const dist = join(unpacked, 'package', 'miniprogram_dist');
  for (const file of KIT_FILES) expect(readFileSync(join(dist, file), 'utf8'), file).toBe(readFileSync(join(KIT_DIR, file), 'utf8'));

  const app = join(work, 'app');
  cpSync(dist, join(app, 'miniprogram_npm', 'wxlogin-miniprogram'), { recursive: true });
  writeFileSync(join(app, 'app.js'), "module.exports = require('wxlogin-miniprogram');\n");
  const person = stack.person();
  const wx = createWx({ appid: APP_A, issueCode: () => stack.wechat.issueCode(APP_A, person) });
  const kit = miniprogramRuntime({ wx }).load<typeof Kit>(pathToFileURL(join(app, 'app.js')));
  kit.configure({ baseUrl: service.url });
  const response = await kit.request<{ user: Kit.User }>({ url: '/api/me' });
  expect(response.data.user).toMatchObject({ appid: APP_A, openid: stack.wechat.identityOf(APP_A, person).openid });
});

it('index.d.ts compiles on its own under --strict, library checks included', () => {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const run = () => execFileSync(process.execPath, [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--lib', 'ES2015', join(KIT_DIR, 'index.d.ts')], { encoding: 'utf8' });
  expect(run).not.toThrow();
});
