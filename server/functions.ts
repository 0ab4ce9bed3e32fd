// The functions under api/, routed as Vercel's filesystem routing does: api/a/b.ts at /api/a/b,
// api/a/index.ts at /api/a, api/a/[id].ts at /api/a/<one segment>, static paths before dynamic ones.
import { routePattern } from '../lib/http/endpoint.js';
import { apiModules, type ApiModule } from './api-modules.js';

export type VercelFunction = ApiModule['default'];

export interface Functions {
  /** Routes as Vercel names them (/api/sessions/[handle]), static ones first. */
  routes: string[];
  /** The function serving this path, if any. */
  match(pathname: string): VercelFunction | undefined;
}

export async function loadFunctions(): Promise<Functions> {
  const modules = await apiModules();
  const loaded = await Promise.all(
    Object.entries(modules).map(async ([file, load]) => {
      const route = `/api/${file.slice(0, -3)}`.replace(/\/index$/, '');
      return { route, pattern: routePattern(route), fn: (await load()).default };
    }),
  );
  // Vercel prefers a static segment to a dynamic one at the same place.
  const rank = (route: string) => route.split('/').map((segment) => (segment.startsWith('[') ? '1' : '0')).join('');
  loaded.sort((a, b) => rank(a.route).localeCompare(rank(b.route)) || a.route.localeCompare(b.route));
  return {
    routes: loaded.map(({ route }) => route),
    match: (pathname) => loaded.find(({ pattern }) => pattern.test(pathname))?.fn,
  };
}
