// HTTP conventions shared by every endpoint: method dispatch, bearer tokens, client addresses,
// problem+json (RFC 9457) errors, request ids, no-store caching, rate-limit headers and one
// access-log line per request.
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { config, ConfigError, onVercel } from '../platform/config.js';
import { checkText } from './input.js';
import { safeEqual } from './keys.js';
import { ApiError, describeCause, invalid } from '../platform/errors.js';
import { budgetSpent, newRequestContext, type RateLimitState, type RequestContext } from '../platform/request-context.js';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The route's dynamic segments ([handle] in api/sessions/[handle].ts), decoded. */
export type RouteParams = Record<string, string>;

export type Handler = (request: Request, context: RequestContext, params: RouteParams) => Promise<Response>;

/**
 * Whole-request budget, under vercel.json's maxDuration (10 s): past it the client gets a 503
 * problem instead of the platform's bare timeout. Each dependency has its own shorter bound; this
 * one catches a chain of slow-but-successful steps, and is the handlers' deadline (context.deadline).
 */
export const REQUEST_BUDGET_MS = 9000;

/**
 * A Vercel function (`export default endpoint(...)`): routes by method, never throws. `route` is
 * the file's path as Vercel serves it, dynamic segments in brackets (/api/sessions/[handle]).
 * `allow` lists its methods, for servers that must refuse a method before a Request can carry it.
 */
export function endpoint(route: string, handlers: Partial<Record<Method, Handler>>, { budgetMs = REQUEST_BUDGET_MS } = {}) {
  const allow = Object.keys(handlers).join(', ');
  const pattern = routePattern(route);
  return {
    allow,
    async fetch(request: Request): Promise<Response> {
      const started = performance.now();
      const context = newRequestContext(requestIdOf(request), Date.now() + budgetMs);
      let response: Response;
      let failure: ApiError | undefined;
      try {
        context.clientAddress = clientAddress(request);
        context.clientIp = clientIp(request);
        const handler = handlers[request.method as Method];
        if (!handler) throw methodNotAllowed(allow);
        response = await withinBudget(handler(request, context, routeParams(pattern, request)), budgetMs);
      } catch (error) {
        // The log gets what the client got, with its reasons (a ConfigError's variable, say).
        failure = toApiError(error);
        response = problem(failure, context.requestId);
      }
      if (context.rateLimit) setRateLimitHeaders(response.headers, context.rateLimit);
      // no-store, unless the handler chose otherwise (an immutable avatar image).
      if (!response.headers.has('Cache-Control')) response.headers.set('Cache-Control', 'no-store');
      response.headers.set('X-Request-Id', context.requestId);
      logRequest(request, route, response.status, started, context, failure);
      return response;
    },
  };
}

export function methodNotAllowed(allow: string): ApiError {
  return new ApiError('method_not_allowed', { detail: `Use ${allow}`, headers: { Allow: allow } });
}

async function withinBudget(work: Promise<Response>, budgetMs: number): Promise<Response> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(budgetSpent()), budgetMs);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** The pattern Vercel's filesystem routing matches a route with: [name] is one path segment. */
export function routePattern(route: string): RegExp {
  const segments = route.split('/').map((segment) => {
    const dynamic = /^\[(\w+)\]$/.exec(segment);
    return dynamic ? `(?<${dynamic[1]}>[^/]+)` : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${segments.join('/')}/?$`);
}

function routeParams(pattern: RegExp, request: Request): RouteParams {
  const groups = pattern.exec(new URL(request.url).pathname)?.groups ?? {};
  let decoded: [string, string][];
  try {
    decoded = Object.entries(groups).map(([name, value]) => [name, decodeURIComponent(value)]);
  } catch {
    throw new ApiError('not_found');
  }
  return Object.fromEntries(decoded.map(([name, value]) => [name, checkText(value, name)]));
}

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
  });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** The bearer token of the Authorization header; 401 when there is none, 400 when there are several. */
export function bearerToken(request: Request): string {
  const header = request.headers.get('authorization') ?? '';
  // Repeated headers arrive joined with ", " and a token never holds a comma: which one is meant is
  // not ours to guess.
  if (header.includes(',')) throw invalid('Send one Authorization header with one bearer token');
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (!match?.[1]) {
    throw new ApiError('unauthorized', {
      detail: 'Send Authorization: Bearer <token>',
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  }
  return checkText(match[1], 'Authorization');
}

/** The caller's address as the platform saw it, or null when no trusted proxy set the headers. */
export function clientAddress(request: Request): string | null {
  const { trustProxyHeaders, frontProxy } = config();
  const viaFront = frontProxy && safeEqual(request.headers.get('x-front-proxy-secret') ?? '', frontProxy.secret);
  // Behind a front proxy the platform sees the proxy; the proxy, proven by its secret, names the client.
  const named = viaFront
    ? request.headers.get(frontProxy.clientIpHeader)
    : trustProxyHeaders
      ? (request.headers.get('x-real-ip') ?? request.headers.get('x-forwarded-for'))
      : null;
  let ip = (named?.split(',')[0] ?? '').trim();
  if (/^::ffff:[\d.]+$/i.test(ip)) ip = ip.slice(7);
  return isIP(ip) ? ip : null;
}

/** The caller as the per-address limits count it: IPv6 cut to its /64, which one subscriber commonly holds. */
export function clientIp(request: Request): string | null {
  const ip = clientAddress(request);
  return ip === null ? null : isIP(ip) === 6 ? ipv6Prefix64(ip) : ip;
}

function ipv6Prefix64(ip: string): string {
  const groupsIn = (part: string) => (part ? part.split(':').reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0) : 0);
  const [head = '', tail] = ip.split('::');
  const zeros = tail === undefined ? [] : Array<string>(8 - groupsIn(head) - groupsIn(tail)).fill('0');
  const groups = [...(head ? head.split(':') : []), ...zeros, ...(tail ? tail.split(':') : [])];
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ConfigError) {
    // The message names the variable, never its value.
    return new ApiError('server_misconfigured', { logFields: { config: error.message } });
  }
  return new ApiError('internal_error', { logFields: { error: describeCause(error) } });
}

export function problem(error: ApiError, requestId: string): Response {
  const body = {
    ...error.extensions,
    type: `urn:wxlogin:problem:${error.code}`,
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail === undefined ? {} : { detail: error.detail }),
    requestId,
  };
  const headers = new Headers({ 'Content-Type': 'application/problem+json; charset=utf-8', ...error.headers });
  if (error.retryAfterSeconds !== undefined) headers.set('Retry-After', String(error.retryAfterSeconds));
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

function setRateLimitHeaders(headers: Headers, state: RateLimitState): void {
  headers.set('RateLimit-Limit', String(state.limit));
  headers.set('RateLimit-Remaining', String(state.remaining));
  headers.set('RateLimit-Reset', String(state.resetSeconds));
  headers.set('RateLimit-Policy', `${state.limit};w=${state.windowSeconds}`);
}

/** Vercel's id on Vercel, so our logs line up with the platform's; elsewhere a client could choose it. */
function requestIdOf(request: Request): string {
  const vercelId = onVercel() ? request.headers.get('x-vercel-id') : null;
  return vercelId && /^[\w:-]{1,128}$/.test(vercelId) ? vercelId : randomUUID();
}

function logRequest(
  request: Request,
  route: string,
  status: number,
  started: number,
  context: RequestContext,
  failure: ApiError | undefined,
): void {
  const line: Record<string, unknown> = {
    level: status >= 500 ? 'error' : 'info',
    time: new Date().toISOString(),
    requestId: context.requestId,
    method: request.method,
    route,
    status,
    durationMs: Math.round((performance.now() - started) * 10) / 10,
    ...context.log,
  };
  if (failure) Object.assign(line, { code: failure.code }, failure.logFields);
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
