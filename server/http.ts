// Serves every function under api/ on one port, routed as Vercel routes them (server/functions.ts),
// then the files under public/ (the console at /admin); every answer with the headers vercel.json
// sets. `npm run dev` and `npm start` both run it. The handlers are the deployed ones; only the
// Node ↔ Fetch plumbing lives here, and the answers to what no function can be handed (no such
// path, a malformed request): problem+json too.
import { readFile } from 'node:fs/promises';
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { Readable, type Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { pathToRegexp } from 'path-to-regexp';
import { ApiError, invalid } from '../lib/platform/errors.js';
import { methodNotAllowed, problem } from '../lib/http/endpoint.js';
import { loadFunctions, type Functions } from './functions.js';

type HeadersFor = (pathname: string) => [string, string][];

const PUBLIC_DIR = new URL('../public/', import.meta.url);
const VERCEL_JSON = new URL('../vercel.json', import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** Methods Node parses that a Fetch Request cannot carry: no function can be handed one. */
const UNREPRESENTABLE_METHODS = new Set(['CONNECT', 'TRACE']);

interface HeaderRule {
  source: string;
  headers: { key: string; value: string }[];
}

/** vercel.json's `headers` for a path, matched as Vercel matches `source` (path-to-regexp 6, strict, case-sensitive). */
export async function loadHeaderRules(): Promise<HeadersFor> {
  const { headers = [] } = JSON.parse(await readFile(VERCEL_JSON, 'utf8')) as { headers?: HeaderRule[] };
  const rules = headers.map((rule) => ({ pattern: pathToRegexp(rule.source, [], { strict: true, sensitive: true, delimiter: '/' }), headers: rule.headers }));
  return (pathname) => rules.filter(({ pattern }) => pattern.test(pathname)).flatMap((rule) => rule.headers.map(({ key, value }): [string, string] => [key, value]));
}

/** A file under public/ as Vercel serves it: a folder's path (with or without the slash) is its index.html. */
async function staticFile(pathname: string): Promise<Response | undefined> {
  for (const candidate of [pathname, `${pathname.replace(/\/$/, '')}/index.html`]) {
    const file = new URL(`.${candidate}`, PUBLIC_DIR);
    if (!file.href.startsWith(PUBLIC_DIR.href)) return undefined;
    const body = await readFile(file).catch(() => undefined);
    if (body) {
      // Vercel's own Cache-Control for static files: always revalidated.
      const headers = { 'Content-Type': CONTENT_TYPES[extname(file.pathname)] ?? 'application/octet-stream', 'Cache-Control': 'public, max-age=0, must-revalidate' };
      return new Response(body, { headers });
    }
  }
  return undefined;
}

/**
 * Longer than a load balancer's idle timeout (60 s is the usual default): the balancer, not this
 * server, closes an idle connection, so it never reuses one this server is closing (a 502).
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export async function startServer({ port = 3000, host = '127.0.0.1' } = {}) {
  const functions = await loadFunctions();
  const headersFor = await loadHeaderRules();
  let draining = false;
  const server = createServer((incoming, outgoing) => {
    answer(functions, headersFor, incoming)
      .catch(() => localProblem(new ApiError('internal_error')))
      .then((response) => {
        // While draining, each connection closes after the answer it is waiting for.
        if (draining) outgoing.shouldKeepAlive = false;
        return send(response, outgoing);
      })
      .catch(() => outgoing.destroy());
  });
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Node waits this long for a request's headers; it must outlast the keep-alive timeout.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  // Node hands over CONNECT as a bare socket, and would answer what it cannot parse with a bare
  // 400 or not at all: these get a problem+json too.
  server.on('connect', (incoming: IncomingMessage, socket: Duplex) => {
    answer(functions, headersFor, incoming).then(rawHttp).then((bytes) => socket.end(bytes), () => socket.destroy());
  });
  server.on('clientError', (_error, socket: Duplex) => {
    if (!socket.writable) return void socket.destroy();
    rawHttp(localProblem(invalid('The request is not valid HTTP/1.1'))).then((bytes) => socket.end(bytes), () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address() as { port: number };
  const closed = new Promise<void>((resolve) => server.once('close', resolve));
  return {
    url: `http://${host}:${address.port}`,
    routes: functions.routes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    /**
     * Stops taking connections, lets the requests in flight finish (each connection closing after
     * its answer), and resolves true once all are done; false if `graceMs` ran out first and the
     * rest were cut.
     */
    async drain(graceMs: number): Promise<boolean> {
      draining = true;
      server.close();
      server.closeIdleConnections();
      let timer: NodeJS.Timeout | undefined;
      const outOfTime = new Promise<false>((resolve) => (timer = setTimeout(resolve, graceMs, false)));
      const drained = await Promise.race([closed.then(() => true as const), outOfTime]);
      clearTimeout(timer);
      if (!drained) server.closeAllConnections();
      return drained;
    },
  };
}

/** The function's answer, a file of public/, or the local server's own; with vercel.json's headers for the path. */
async function answer(functions: Functions, headersFor: HeadersFor, incoming: IncomingMessage): Promise<Response> {
  let url: URL;
  try {
    url = new URL(incoming.url ?? '/', `http://${incoming.headers.host ?? 'localhost'}`);
  } catch {
    return localProblem(invalid('The Host header or the request target is malformed'));
  }
  const response = await route(functions, incoming, url);
  for (const [name, value] of headersFor(url.pathname)) response.headers.set(name, value);
  return response;
}

async function route(functions: Functions, incoming: IncomingMessage, url: URL): Promise<Response> {
  const fn = functions.match(url.pathname);
  if (!fn) return (await staticFile(url.pathname)) ?? localProblem(new ApiError('not_found'));
  if (UNREPRESENTABLE_METHODS.has(incoming.method ?? '')) return localProblem(methodNotAllowed(fn.allow));
  return fn.fetch(toRequest(incoming, url));
}

async function send(response: Response, outgoing: ServerResponse): Promise<void> {
  outgoing.writeHead(response.status, Object.fromEntries(response.headers));
  outgoing.end(Buffer.from(await response.arrayBuffer()));
}

function toRequest(incoming: IncomingMessage, url: URL): Request {
  // Every header line as sent, repeats included (incoming.headers keeps only the first Authorization).
  const headers = new Headers();
  for (const [name, values] of Object.entries(incoming.headersDistinct)) {
    for (const value of values ?? []) headers.append(name, value);
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

/** A problem the local server answers itself, with the headers every response carries. */
function localProblem(error: ApiError): Response {
  const requestId = randomUUID();
  const response = problem(error, requestId);
  response.headers.set('Cache-Control', 'no-store');
  response.headers.set('X-Request-Id', requestId);
  return response;
}

/** A whole HTTP/1.1 response, for a socket Node did not wrap in a ServerResponse. */
async function rawHttp(response: Response): Promise<Buffer> {
  const body = Buffer.from(await response.arrayBuffer());
  const head = [
    `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status]}`,
    ...[...response.headers].map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${body.length}`,
    'Connection: close',
  ];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`), body]);
}
