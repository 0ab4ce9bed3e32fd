// npm run build (Vercel runs it too, see vercel.json): bundles the operators' console (console/)
// into public/admin/console.js, beside the page and stylesheet that public/ serves as they are.
import { rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildConsole();
