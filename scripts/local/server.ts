// Serves every function under api/ on one local port, routed as Vercel's filesystem routing does:
// api/a/b.ts at /api/a/b, api/a/index.ts at /api/a, api/a/[id].ts at /api/a/<one segment>, static
// paths before dynamic ones. The handlers are the deployed ones; only the Node ↔ Fetch plumbing
// lives here.
import { readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../lib/errors.js';
import { problem, routePattern } from '../../lib/http.js';

type VercelFunction = { fetch(request: Request): Promise<Response> };

const API_DIR = new URL('../../api/', import.meta.url);

export interface Functions {
  /** Routes as Vercel names them (/api/sessions/[handle]), static ones first. */
  routes: string[];
  /** The function serving this path, if any. */
  match(pathname: string): VercelFunction | undefined;
}

export async function loadFunctions(): Promise<Functions> {
  const files = (await readdir(API_DIR, { recursive: true })).filter((file) => /^[\w/[\]-]+\.ts$/.test(file));
  const loaded = await Promise.all(
    files.map(async (file) => {
      const route = `/api/${file.slice(0, -3)}`.replace(/\/index$/, '');
      const module = (await import(new URL(file, API_DIR).href)) as { default: VercelFunction };
      return { route, pattern: routePattern(route), fn: module.default };
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

export async function startServer({ port = 3000, host = '127.0.0.1' } = {}) {
  const functions = await loadFunctions();
  const server = createServer((incoming, outgoing) => {
    serve(functions, incoming, outgoing).catch(() => outgoing.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as { port: number };
  return {
    url: `http://${host}:${address.port}`,
    routes: functions.routes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function serve(functions: Functions, incoming: IncomingMessage, outgoing: ServerResponse) {
  const url = new URL(incoming.url ?? '/', `http://${incoming.headers.host ?? 'localhost'}`);
  const fn = functions.match(url.pathname);
  const response = fn ? await fn.fetch(toRequest(incoming, url)) : notFound();
  outgoing.writeHead(response.status, Object.fromEntries(response.headers));
  outgoing.end(Buffer.from(await response.arrayBuffer()));
}

function toRequest(incoming: IncomingMessage, url: URL): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  // As on Vercel: the client address comes from the connection, never from what the client sent.
  const ip = incoming.socket.remoteAddress ?? '';
  headers.set('x-forwarded-for', ip);
  headers.set('x-real-ip', ip);
  const hasBody = incoming.method !== 'GET' && incoming.method !== 'HEAD';
  return new Request(url, {
    method: incoming.method,
    headers,
    body: hasBody ? (Readable.toWeb(incoming) as ReadableStream<Uint8Array>) : null,
    duplex: 'half',
  } as RequestInit);
}

function notFound(): Response {
  const response = problem(new ApiError('not_found'), randomUUID());
  response.headers.set('Cache-Control', 'no-store');
  return response;
}
