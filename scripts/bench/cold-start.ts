// Cold start as deployed: each api/*.ts bundled with esbuild, imported in a fresh Node process, next
// to a bundle that imports only the same third-party bindings; and a fresh instance's first request
// (import, connections to the peers, the call), next to the bare calls bundled the same way. The
// difference is what our code costs.
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { build, type Metafile } from 'esbuild';
import type { Traffic } from './backends.js';
import type { BaselineSetup } from './baselines.js';
import { summarize, type Summary } from './measure.js';
import { meanBytes, upstashBytes, type UpstashBytes } from './round-trips.js';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

export interface ColdStart {
  name: string;
  bundleBytes: number;
  depsBundleBytes: number;
  /** Bytes of our own modules in the bundle, by module. */
  ownModules: Record<string, number>;
  /** Third-party packages the function's import graph pulls in. */
  packages: string[];
  importMs: Summary;
  depsImportMs: Summary;
  /** How much our code adds to the dependencies' import time, at the median (0.2 = 20%). */
  added: number;
}

// ESM output still meets require() calls in CommonJS dependencies (ws, undici).
const banner = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

export async function measureColdStarts(outDir: string, runs: number, signal: AbortSignal): Promise<ColdStart[]> {
  const files = (await readdir(join(ROOT, 'api'))).filter((name) => /^[\w-]+\.ts$/.test(name)).sort();
  const results: ColdStart[] = [];
  for (const file of files) {
    const name = file.slice(0, -3);
    const bundle = join(outDir, `${name}.mjs`);
    const deps = join(outDir, `${name}.deps.mjs`);
    const { metafile } = await bundleEntry({ entryPoints: [join(ROOT, 'api', file)] }, bundle);
    const { ownModules, packages, reexports, loadedBytes } = await analyze(metafile);
    await bundleEntry({ stdin: { contents: reexports, resolveDir: ROOT, loader: 'js' } }, deps);

    const importMs: number[] = [];
    const depsImportMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      signal.throwIfAborted();
      // Alternate, so both sides see the same machine.
      importMs.push(await timeImport(bundle));
      depsImportMs.push(await timeImport(deps));
    }
    const own = summarize(importMs);
    const third = summarize(depsImportMs);
    results.push({
      name,
      bundleBytes: loadedBytes,
      depsBundleBytes: (await stat(deps)).size,
      ownModules,
      packages,
      importMs: own,
      depsImportMs: third,
      added: Math.round(((own.p50 - third.p50) / third.p50) * 1000) / 1000,
    });
  }
  return results;
}

/** One run of fresh-instance.ts. */
export interface FirstRequest {
  bundle: string;
  flow: 'login' | 'me';
  variant: 'ours' | 'bare';
  /** Who logs in (login), whose session is read (me). */
  person: string;
  token: string;
  setup: BaselineSetup;
}

export interface FreshTimes {
  importMs: Summary;
  firstMs: Summary;
  totalMs: Summary;
}

export interface FirstRequestRow {
  flow: 'login' | 'me';
  ours: FreshTimes;
  bare: FreshTimes;
  /** How much our code adds to the bare instance's import + first request, at the median. */
  added: number;
  /** What our fresh instance's first request sent to Upstash. */
  upstash: UpstashBytes;
}

export interface FirstRequestOptions {
  setup: BaselineSetup;
  newPerson: () => string;
  /** Live sessions, one per run. */
  tokens: string[];
  record: (work: () => Promise<unknown>) => Promise<Traffic>;
}

/** The first login and /me of fresh instances, ours and the bare calls alternating, `runs` of each. */
export async function measureFirstRequests(outDir: string, runs: number, signal: AbortSignal, options: FirstRequestOptions) {
  const bundle = async (entry: string) => {
    const outfile = join(outDir, `${basename(entry, '.ts')}.mjs`);
    await bundleEntry({ entryPoints: [join(ROOT, entry)] }, outfile);
    return outfile;
  };
  const [driver, login, me, bareLogin, bareMe] = await Promise.all(
    ['scripts/bench/fresh-instance.ts', 'api/login.ts', 'api/me.ts', 'scripts/bench/baselines.ts', 'scripts/bench/bare-me.ts'].map(bundle),
  );
  const bundles = { ours: { login: login!, me: me! }, bare: { login: bareLogin!, me: bareMe! } };
  const rows: FirstRequestRow[] = [];
  for (const flow of ['login', 'me'] as const) {
    const times: Record<'ours' | 'bare', Times[]> = { ours: [], bare: [] };
    const sent: UpstashBytes[] = [];
    for (let i = 0; i < runs; i++) {
      // Alternate which goes first, so both sides see the same machine.
      for (const variant of i % 2 ? (['bare', 'ours'] as const) : (['ours', 'bare'] as const)) {
        signal.throwIfAborted();
        const input: FirstRequest = {
          bundle: bundles[variant][flow],
          flow,
          variant,
          person: options.newPerson(),
          token: options.tokens[i]!,
          setup: options.setup,
        };
        let result: Times | undefined;
        const traffic = await options.record(async () => {
          const { stdout } = await run(process.execPath, [driver!, JSON.stringify(input)]);
          // The function's access-log line comes first.
          result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Times;
        });
        times[variant].push(result!);
        // Bytes with our scripts cached; the shared Redis may have lost them to another run's flush.
        if (variant === 'ours' && !traffic.redis.some((exchange) => exchange.noscript)) sent.push(upstashBytes(traffic));
      }
    }
    const [oursTimes, bareTimes] = [freshTimes(times.ours), freshTimes(times.bare)];
    const added = Math.round(((oursTimes.totalMs.p50 - bareTimes.totalMs.p50) / bareTimes.totalMs.p50) * 1000) / 1000;
    rows.push({ flow, ours: oursTimes, bare: bareTimes, added, upstash: meanBytes(sent) });
  }
  return rows;
}

type Times = { importMs: number; firstMs: number };

function freshTimes(runs: Times[]): FreshTimes {
  return {
    importMs: summarize(runs.map((r) => r.importMs)),
    firstMs: summarize(runs.map((r) => r.firstMs)),
    totalMs: summarize(runs.map((r) => r.importMs + r.firstMs)),
  };
}

/**
 * One bundle per entry, written to `outfile`. A module the code imports lazily (`await import()`)
 * goes into a chunk of its own, loaded only when that code runs: as on Vercel, whose builder keeps
 * modules apart.
 */
async function bundleEntry(entry: Parameters<typeof build>[0], outfile: string) {
  const where = entry.stdin
    ? { outfile }
    : { outdir: dirname(outfile), entryNames: basename(outfile, '.mjs'), chunkNames: 'chunks/[name]-[hash]', outExtension: { '.js': '.mjs' }, splitting: true };
  return build({
    ...entry,
    ...where,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    metafile: true,
    logLevel: 'error',
    banner: { js: banner },
  }) as Promise<{ metafile: Metafile }>;
}

/** Our modules in the bundle, and an entry that re-exports exactly the third-party bindings they import. */
async function analyze(metafile: Metafile) {
  const ownModules: Record<string, number> = {};
  const specifiers = new Set<string>();
  // Only what loads at the start: the entry's output and the chunks it imports statically, not a
  // chunk imported lazily.
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file)) return;
    loaded.add(file);
    for (const imported of metafile.outputs[file]?.imports ?? []) if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
  };
  visit(Object.entries(metafile.outputs).find(([, output]) => output.entryPoint)?.[0] ?? Object.keys(metafile.outputs)[0]!);
  const inputs = [...loaded].flatMap((file) => Object.entries(metafile.outputs[file]!.inputs));
  for (const [path, { bytesInOutput }] of inputs) {
    if (path.includes('node_modules/')) continue;
    ownModules[path] = bytesInOutput;
    for (const imported of metafile.inputs[path]?.imports ?? []) {
      const specifier = imported.original ?? imported.path;
      if (imported.kind !== 'dynamic-import' && !imported.external && !isBuiltin(specifier) && !specifier.startsWith('.')) specifiers.add(specifier);
    }
  }
  const lines: string[] = [];
  for (const path of Object.keys(ownModules)) {
    const source = await readFile(join(ROOT, path), 'utf8');
    for (const [, clause, specifier] of source.matchAll(/^import\s+([^;]+?)\s+from\s+'([^']+)';/gm)) {
      if (specifiers.has(specifier!) && !clause!.startsWith('type ')) lines.push(reexport(clause!, specifier!, lines.length));
    }
  }
  const loadedBytes = [...loaded].reduce((sum, file) => sum + metafile.outputs[file]!.bytes, 0);
  return { ownModules, packages: [...specifiers].sort(), reexports: lines.join('\n'), loadedBytes };
}

/** `import ws, { a, b as c, type T } from 'x'` → `export { default as d0, a as d0_1, b as d0_2 } from 'x'`. */
function reexport(clause: string, specifier: string, index: number): string {
  const names: string[] = [];
  const namespace = /^\*\s+as\s+\w+$/.test(clause);
  if (namespace) return `export * as d${index} from '${specifier}';`;
  const [, defaultName, named] = /^(\w+)?\s*,?\s*(?:\{([^}]*)\})?$/.exec(clause.trim()) ?? [];
  if (defaultName) names.push('default');
  for (const part of (named ?? '').split(',').map((item) => item.trim())) {
    if (part && !part.startsWith('type ')) names.push(part.split(/\s+as\s+/)[0]!);
  }
  return `export { ${names.map((name, i) => `${name} as d${index}_${i}`).join(', ')} } from '${specifier}';`;
}

/** Milliseconds to import `file` in a fresh Node process (Node's own start-up excluded). */
async function timeImport(file: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(file)}); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  return Number(stdout);
}
