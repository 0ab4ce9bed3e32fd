// docs/openapi.yaml as a document: valid OpenAPI 3.1, in step with the error catalog and the api/
// functions, and a contract checker that refuses what the spec does not allow. (Every response of
// every other test is checked against it through stack.call().)
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { catalog, type ErrorCode } from '../lib/platform/errors.js';
import { loadFunctions } from '../server/functions.js';
import { checkExchange, METHODS, spec, type Exchange, type Operation, type ResponseObject } from './support/contract.js';

const operations = Object.entries(spec.paths).flatMap(([path, item]) =>
  METHODS.flatMap((method) => (item[method] ? [{ path, method, operation: item[method] as Operation }] : [])),
);

/** A response object, following a $ref into components.responses. */
function responseOf(response: ResponseObject | { $ref: string }): ResponseObject {
  return '$ref' in response ? spec.components.responses[response.$ref.split('/').pop()!]! : response;
}

/** The codes a problem response allows: its schema's `code` const or enum. */
function problemCodes(response: ResponseObject): string[] | undefined {
  const schema = response.content?.['application/problem+json']?.schema as { properties?: { code?: { const?: string; enum?: string[] } } } | undefined;
  const code = schema?.properties?.code;
  return code && (code.enum ?? [code.const!]);
}

describe('docs/openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(spec) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('holds only valid JSON Schema 2020-12 schemas (OpenAPI\'s own schema does not look inside them)', () => {
    const ajv = new Ajv2020();
    /** Every Schema Object: the components' and those of parameters, headers and media types. */
    const schemas = (node: unknown, key = ''): unknown[] =>
      typeof node !== 'object' || node === null
        ? []
        : key === 'schema'
          ? [node]
          : Object.entries(node).flatMap(([name, child]) => (key === 'schemas' ? [child] : schemas(child, name)));
    const found = schemas(spec);
    expect(found).toEqual(expect.arrayContaining([...Object.values(spec.components.schemas), spec.components.responses.BadRequest!.content!['application/problem+json']!.schema]));
    for (const schema of found) expect(ajv.validateSchema(schema as object) ? [] : ajv.errors, JSON.stringify(schema)).toEqual([]);
  });

  it('names every code of the error catalog, and only those', () => {
    const enumerated = (spec.components.schemas.ErrorCode as { enum: string[] }).enum;
    expect([...enumerated].sort()).toEqual(Object.keys(catalog).sort());
  });

  it('documents every api/ function at the path Vercel serves it, with the methods it serves', async () => {
    const functions = await loadFunctions();
    const routes = functions.routes.map((route) => route.replace(/\[(\w+)\]/g, '{$1}'));
    expect(Object.keys(spec.paths).sort()).toEqual([...routes].sort());
    for (const path of Object.keys(spec.paths)) {
      const served = functions.match(path.replace(/\{\w+\}/g, 'x'))!.allow.split(', ').sort();
      const documented = METHODS.filter((method) => spec.paths[path]![method]).map((method) => method.toUpperCase());
      expect(documented.sort(), path).toEqual(served);
    }
  });

  it('answers each status of a problem response with exactly the catalog codes of that status', () => {
    const responses = [
      ...Object.values(spec.components.responses),
      ...operations.flatMap(({ operation }) => Object.values(operation.responses).map(responseOf)),
    ];
    for (const response of new Set(responses)) {
      const codes = problemCodes(response);
      if (!codes) continue;
      const status = (response.content!['application/problem+json']!.schema as { properties: { status: { const: number } } }).properties.status.const;
      const ofStatus = Object.keys(catalog).filter((code) => catalog[code as ErrorCode].status === status);
      expect([...codes].sort(), response.description).toEqual(ofStatus.sort());
    }
  });

  it.each(operations)('$method $path: x-error-codes are catalog codes, and its error statuses are theirs', ({ operation }) => {
    const codes = operation['x-error-codes'];
    expect(codes.filter((code) => !(code in catalog))).toEqual([]);
    const statuses = new Set(codes.map((code) => String(catalog[code as ErrorCode].status)));
    expect(Object.keys(operation.responses).filter((status) => Number(status) >= 400).sort()).toEqual([...statuses].sort());
  });

  it.each(operations)('$method $path: names its credential exactly when it can answer 401', ({ operation }) => {
    const schemes = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
    expect(operation.security, 'security must be explicit, [] for public operations').toBeDefined();
    expect(schemes.length > 0).toBe(operation['x-error-codes'].includes('unauthorized'));
  });
});

describe.each(['api.md', 'api.zh-CN.md'])('docs/%s', (file) => {
  const rows = readFileSync(new URL(`../docs/${file}`, import.meta.url), 'utf8').split('\n').filter((line) => line.startsWith('| '));

  it('lists every operation of the spec, once', () => {
    const listed = rows.filter((row) => /^\| (GET|POST|PUT|PATCH|DELETE) \| `/.test(row)).map((row) => row.split(' | ').slice(0, 2).join(' '));
    expect(listed.sort()).toEqual(operations.map(({ path, method }) => `| ${method.toUpperCase()} \`${path}\``).sort());
  });

  it('lists every error code with its status, once', () => {
    const listed = rows.filter((row) => /^\| \d{3} \| `/.test(row)).map((row) => row.split(' | ').slice(0, 2).join(' '));
    expect(listed.sort()).toEqual(Object.entries(catalog).map(([code, { status }]) => `| ${status} \`${code}\``).sort());
  });
});

describe('the contract checker', () => {
  const health = (changes: Partial<Exchange> = {}): Exchange => ({
    method: 'GET',
    url: 'http://localhost/api/health',
    requestHeaders: new Headers(),
    requestBody: undefined,
    status: 200,
    headers: new Headers({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': 'r-1' }),
    body: JSON.stringify({ status: 'ok', checks: { redis: { status: 'ok', durationMs: 1 }, postgres: { status: 'ok', durationMs: 2 } } }),
    ...changes,
  });
  const problem = (code: ErrorCode, headers: Record<string, string> = {}, members: Record<string, unknown> = {}) => ({
    status: catalog[code].status,
    headers: new Headers({ 'content-type': 'application/problem+json; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': 'r-1', ...headers }),
    body: JSON.stringify({ type: `urn:wxlogin:problem:${code}`, title: catalog[code].title, status: catalog[code].status, code, requestId: 'r-1', ...members }),
  });

  it('accepts an exchange the spec allows', () => {
    expect(() => checkExchange(health())).not.toThrow();
    expect(() => checkExchange(health(problem('service_unavailable', { 'retry-after': '5' })))).not.toThrow();
  });

  it('refuses a body member the spec does not name, and a missing one', () => {
    expect(() => checkExchange(health({ body: JSON.stringify({ status: 'ok', checks: {}, uptime: 1 }) }))).toThrow(/uptime/);
    expect(() => checkExchange(health({ body: JSON.stringify({ status: 'ok' }) }))).toThrow(/must have required property 'checks'/);
  });

  it('refuses an undocumented status, a missing required header and an undocumented one', () => {
    expect(() => checkExchange(health({ status: 418 }))).toThrow(/status 418 is not documented/);
    const noId = health();
    noId.headers.delete('x-request-id');
    expect(() => checkExchange(noId)).toThrow(/x-request-id is required/);
    expect(() => checkExchange(health(problem('service_unavailable')))).toThrow(/retry-after is required/);
    const extra = health();
    extra.headers.set('x-powered-by', 'wxlogin');
    expect(() => checkExchange(extra)).toThrow(/x-powered-by is not documented/);
  });

  it('refuses a problem code the operation does not list, and a problem without its extension members', () => {
    expect(() => checkExchange(health(problem('wechat_unavailable', { 'retry-after': '5' })))).toThrow(/not among the operation's x-error-codes/);
    const claim = { method: 'POST', url: 'http://localhost/api/claims', requestBody: '{"benefit":"x"}' };
    expect(() => checkExchange(health({ ...claim, ...problem('claim_refused') }))).toThrow(/reason/);
    expect(() => checkExchange(health({ ...claim, ...problem('claim_refused', {}, { reason: 'risk' }) }))).not.toThrow();
  });

  it("refuses a 405 whose Allow is not the path's operations", () => {
    const refused = problem('method_not_allowed', { allow: 'GET' });
    expect(() => checkExchange(health({ method: 'PATCH', url: 'http://localhost/api/me', ...refused }))).toThrow(/Allow is "GET"/);
    expect(() => checkExchange(health({ method: 'PATCH', url: 'http://localhost/api/me', ...problem('method_not_allowed', { allow: 'GET, DELETE' }) }))).not.toThrow();
  });

  it('refuses a success for a request the spec does not allow', () => {
    const page = { body: JSON.stringify({ events: [], next: null }) };
    const events = (query: string) => health({ url: `http://localhost/api/admin/events${query}`, ...page });
    expect(() => checkExchange(events('?limit=20'))).not.toThrow();
    expect(() => checkExchange(events('?limit=20&sort=desc'))).toThrow(/accepted a request the spec refuses.*sort/);
    expect(() => checkExchange(events('?limit=900'))).toThrow(/limit must be <= 500/);
  });
});
