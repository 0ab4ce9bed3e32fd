// npm run build (Vercel runs it too, see vercel.json): bundles the operators' console (console/)
// into public/admin/console.js, beside the page and stylesheet that public/ serves as they are; and
// the production server (server/main.ts, every api/ function in it) into dist/server.mjs for
// `npm start`, so production runs plain JavaScript: no TypeScript loader among its dependencies.
import { readdir, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

export async function buildConsole(): Promise<void> {
  const { outputFiles } = await build({
    entryPoints: [fileURLToPath(new URL('../console/main.ts', import.meta.url))],
    outfile: fileURLToPath(new URL('../public/admin/console.js', import.meta.url)),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    write: false,
  });
  // Written aside and renamed: several `npm run dev` at once (the tests) never serve a half-written bundle.
  for (const file of outputFiles) {
    const aside = `${file.path}.${process.pid}`;
    await writeFile(aside, file.contents);
    await rename(aside, file.path);
  }
}

/**
 * dist/server.mjs, one level down as server/ is, so that its paths to public/ and vercel.json hold.
 * The npm packages stay outside (node_modules, installed with --omit=dev), as published.
 */
export async function buildServer(): Promise<void> {
  await build({
    entryPoints: [fileURLToPath(new URL('../server/main.ts', import.meta.url))],
    outfile: fileURLToPath(new URL('../dist/server.mjs', import.meta.url)),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    packages: 'external',
    plugins: [staticApiModules],
    legalComments: 'none',
  });
}

/** server/api-modules.ts as static imports of every api/ file, read at build time. */
const staticApiModules: Plugin = {
  name: 'static-api-modules',
  setup(build) {
    build.onLoad({ filter: /[\\/]server[\\/]api-modules\.ts$/ }, async () => {
      const files = (await readdir(new URL('../api/', import.meta.url), { recursive: true })).filter((file) => /^[\w/[\]-]+\.ts$/.test(file));
      const entries = files.map((file) => `  ${JSON.stringify(file)}: () => import(${JSON.stringify(`../api/${file}`)}),`);
      return { contents: `export async function apiModules() {\n  return {\n${entries.join('\n')}\n  };\n}\n`, loader: 'ts', resolveDir: fileURLToPath(new URL('../server/', import.meta.url)) };
    });
  },
};

if (process.argv[1] === fileURLToPath(import.meta.url)) await Promise.all([buildConsole(), buildServer()]);
