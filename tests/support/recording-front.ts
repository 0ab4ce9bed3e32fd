// A recording front between the mini program kit and the real local service: it counts requests
// per route and, where a test asks, answers in the service's place (for what the real service
// cannot produce on demand: a 503, a dropped connection, a lost answer).
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Canned {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A problem+json answer as the service writes it, with `members` beside the standard ones
 * (Title-Case header names, as some platforms hand them on).
 */
export function problem(status: number, code: string, headers: Record<string, string> = {}, members: Record<string, unknown> = {}): Canned {
  return {
    status,
    headers: { 'Content-Type': 'application/problem+json', ...headers },
    body: JSON.stringify({ ...members, type: `urn:wxlogin:problem:${code}`, title: code, status, code, requestId: `front-${status}` }),
  };
}

export const unauthorized = problem(401, 'unauthorized', { 'WWW-Authenticate': 'Bearer' });
export const unavailable = (retryAfter: string) => problem(503, 'service_unavailable', { 'Retry-After': retryAfter });

interface Seen {
  route: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the front does with a route instead of forwarding: answer, drop before, or lose the answer after the service acted. */
type Staged = { answer: Canned } | { fault: 'drop' | 'lose' };

export type Front = Awaited<ReturnType<typeof startFront>>;

export async function startFront(upstream: string) {
  let seen: Seen[] = [];
  let staged = new Map<string, { action: Staged; times: number }>();
  let held = new Map<string, Promise<void>>();
  const target = new URL(upstream);

  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', async () => {
      const body = Buffer.concat(chunks);
      const route = `${incoming.method} ${new URL(incoming.url ?? '/', 'http://front').pathname}`;
      const hold = held.get(route);
      held.delete(route);
      await hold;
      seen.push({ route, headers: incoming.headers, body: body.toString('utf8') });
      const next = staged.get(route);
      if (next && --next.times === 0) staged.delete(route);
      const action = next?.action;
      if (action && 'answer' in action) {
        outgoing.writeHead(action.answer.status, action.answer.headers);
        return outgoing.end(action.answer.body);
      }
      if (action?.fault === 'drop') return incoming.socket.destroy();
      const forward = httpRequest(
        { host: target.hostname, port: target.port, path: incoming.url, method: incoming.method, headers: incoming.headers },
        (answer) => {
          if (action?.fault === 'lose') {
            answer.resume();
            return answer.on('end', () => incoming.socket.destroy());
          }
          outgoing.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', () => outgoing.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const of = (route: string) => seen.filter((entry) => entry.route === route);
  const stage = (route: string, action: Staged, times: number) => staged.set(route, { action, times });

  return {
    url: `http://127.0.0.1:${port}`,
    count: (route: string) => of(route).length,
    authorizations: (route: string) => of(route).map((entry) => entry.headers.authorization),
    /** One request header's value on every request to `route`, in arrival order. */
    header: (route: string, name: string) => of(route).map((entry) => entry.headers[name.toLowerCase()]),
    bodies: (route: string) => of(route).map((entry) => JSON.parse(entry.body) as unknown),
    /** Answer `route` with `answer` instead of the service (every time, or `times` times). */
    answer(route: string, answer: Canned, { times = Infinity } = {}) {
      stage(route, { answer }, times);
    },
    /** Close the connection before the service sees the request: a network failure. */
    drop(route: string, { times = 1 } = {}) {
      stage(route, { fault: 'drop' }, times);
    },
    /** Forward to the service, then close the connection instead of passing its answer on. */
    lose(route: string, { times = 1 } = {}) {
      stage(route, { fault: 'lose' }, times);
    },
    /** Holds the next request on `route` until the returned function is called. */
    hold(route: string): () => void {
      let release!: () => void;
      held.set(route, new Promise<void>((resolve) => (release = resolve)));
      return release;
    },
    reset() {
      seen = [];
      staged = new Map();
      held = new Map();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
