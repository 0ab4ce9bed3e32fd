// Every function under api/, by its file's path there ('sessions/[handle].ts'), loaded on demand.
// Read from the folder when run from source (npm run dev, the tests); `npm run build` replaces this
// module with the same table written out as static imports, so the bundle holds every function.
import { readdir } from 'node:fs/promises';

export type ApiModule = { default: { allow: string; fetch(request: Request): Promise<Response> } };

const API_DIR = new URL('../api/', import.meta.url);

export async function apiModules(): Promise<Record<string, () => Promise<ApiModule>>> {
  const files = (await readdir(API_DIR, { recursive: true })).filter((file) => /^[\w/[\]-]+\.ts$/.test(file));
  return Object.fromEntries(files.map((file) => [file, () => import(new URL(file, API_DIR).href) as Promise<ApiModule>]));
}
