// Serves every api/*.ts function at /api/<name> on one local port, as Vercel routes them.
// The handlers are the deployed ones; only the Node ↔ Fetch plumbing lives here.
import { readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { ApiError } from '../../lib/errors.js';
import { problem } from '../../lib/http.js';

type VercelFunction = { fetch(request: Request): Promise<Response> };

const API_DIR = new URL('../../api/', import.meta.url);

export async function loadFunctions(): Promise<Map<string, VercelFunction>> {
  const functions = new Map<string, VercelFunction>();
  for (const file of (await readdir(API_DIR)).filter((name) => /^[\w-]+\.ts$/.test(name)).sort()) {
    const module = (await import(new URL(file, API_DIR).href)) as { default: VercelFunction };
    functions.set(`/api/${file.slice(0, -3)}`, module.default);
  }
  return functions;
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
    routes: [...functions.keys()],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function serve(functions: Map<string, VercelFunction>, incoming: IncomingMessage, outgoing: ServerResponse) {
  const url = new URL(incoming.url ?? '/', `http://${incoming.headers.host ?? 'localhost'}`);
  const fn = functions.get(url.pathname.replace(/\/+$/, ''));
  const response = fn ? await fn.fetch(toRequest(incoming, url)) : notFound();
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

function notFound(): Response {
  const response = problem(new ApiError('not_found'), randomUUID());
  response.headers.set('Cache-Control', 'no-store');
  return response;
}
