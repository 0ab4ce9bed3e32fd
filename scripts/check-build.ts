// npm run check:build: builds every api/ function with @vercel/node's own builder, offline, as a
// deployment would, writes each function's files apart and imports its handler from there, the
// way the platform loads it: a bundling, tracing or import error fails here instead of in a deploy.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { download, glob, type BuildV3 } from '@vercel/build-utils';
import * as vercelNode from '@vercel/node';

// @vercel/node's own types leave out the builder it exports.
const { build } = vercelNode as unknown as { build: BuildV3 };
const run = promisify(execFile);

const workPath = new URL('..', import.meta.url).pathname;
const entrypoints = (await readdir(join(workPath, 'api'), { recursive: true }))
  .filter((file) => file.endsWith('.ts'))
  .map((file) => `api/${file}`)
  .sort();
const files = await glob('**', { cwd: workPath, ignore: ['node_modules/**', '.git/**', '.data/**', 'bench/results/**'] });
const outDir = await mkdtemp(join(tmpdir(), 'wxlogin-build-'));

let failed = 0;
try {
  for (const entrypoint of entrypoints) {
    const started = Date.now();
    try {
      const { output } = await build({ files, entrypoint, workPath, repoRootPath: workPath, config: {}, meta: { skipDownload: true } });
      if (output.type !== 'Lambda') throw new Error(`built a ${output.type}, not a function`);
      const functionDir = join(outDir, entrypoint);
      await download(output.files ?? {}, functionDir);
      await importHandler(join(functionDir, output.handler));
      console.log(`built and loaded ${entrypoint} for ${output.runtime} (${Object.keys(output.files ?? {}).length} files, ${Date.now() - started} ms)`);
    } catch (error) {
      failed += 1;
      console.error(`FAILED ${entrypoint}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
} finally {
  await rm(outDir, { recursive: true, force: true });
}
console.log(`${entrypoints.length - failed} of ${entrypoints.length} functions built and loaded`);
process.exitCode = failed ? 1 : 0;

/** Imports the built handler in a fresh Node, with nothing but its own files around it. */
async function importHandler(handler: string): Promise<void> {
  const check = `const m = await import(${JSON.stringify(pathToFileURL(handler).href)});
if (typeof (m.default?.fetch ?? m.default?.default?.fetch) !== 'function') { console.error('no fetch handler exported'); process.exit(1); }`;
  await run(process.execPath, ['--input-type=module', '-e', check], { env: { PATH: process.env.PATH } });
}
