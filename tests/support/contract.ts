// The HTTP contract, docs/openapi.yaml, held against real exchanges: stack.call() checks every
// response of every test with checkExchange(), so the spec and the functions cannot disagree on
// anything the suite provokes. Schemas compile once per process (Ajv, JSON Schema 2020-12, which
// OpenAPI 3.1 schemas are); the document is parsed once per run (global-setup.ts).
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { inject } from 'vitest';

type Ref = { $ref: string };
type Schema = Record<string, unknown>;
interface HeaderObject {
  required?: boolean;
  schema: Schema;
}
interface ParameterObject extends HeaderObject {
  name: string;
  in: 'path' | 'query' | 'header';
}
export interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderObject | Ref>;
  content?: Record<string, { schema: Schema }>;
}
export interface Operation {
  security?: Record<string, string[]>[];
  parameters?: (ParameterObject | Ref)[];
  requestBody?: { required?: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, ResponseObject | Ref>;
  'x-error-codes': string[];
}
export const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
type PathItem = { parameters?: (ParameterObject | Ref)[] } & Partial<Record<(typeof METHODS)[number], Operation>>;
interface OpenApi {
  paths: Record<string, PathItem>;
  components: { schemas: Record<string, Schema>; responses: Record<string, ResponseObject> };
}

export const spec = inject('openapi') as unknown as OpenApi;

/** A JSON pointer into the spec, as tokens. */
type Pointer = string[];
const SPEC_ID = 'openapi';
// The document's own members are not schema keywords: Ajv must skip them when it compiles the root.
const DOCUMENT_MEMBERS = ['openapi', 'info', 'jsonSchemaDialect', 'tags', 'paths', 'components'];

function validatorFactory(options: { coerceTypes: boolean }) {
  // validateSchema: off, as openapi.test.ts validates the document and each schema in it once.
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, validateSchema: false, ...options });
  // ajv-formats is CommonJS: its default export is the plugin itself, which NodeNext types miss.
  (addFormatsPlugin as unknown as (ajv: Ajv2020) => void)(ajv);
  ajv.addVocabulary(DOCUMENT_MEMBERS);
  ajv.addSchema(spec as unknown as Schema, SPEC_ID);
  return ajv;
}
/** Bodies as they are; headers, parameters and form fields are text, read as the schema's type. */
const bodies = validatorFactory({ coerceTypes: false });
const texts = validatorFactory({ coerceTypes: true });
const compiled = new Map<string, ValidateFunction>();

const refTo = (pointer: Pointer): Ref => ({
  $ref: `${SPEC_ID}#/${pointer.map((token) => encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`,
});

function validator(ajv: Ajv2020, schema: Schema): ValidateFunction {
  const key = `${ajv === texts ? 't' : 'b'}${JSON.stringify(schema)}`;
  let validate = compiled.get(key);
  if (!validate) compiled.set(key, (validate = ajv.compile(schema)));
  return validate;
}

/** The spec object at `pointer`, following $refs, and where it really is. */
function resolve<T>(pointer: Pointer): { value: T; at: Pointer } {
  let at = pointer;
  let value: unknown = at.reduce<unknown>((node, token) => (node as Record<string, unknown>)[token], spec);
  while (typeof value === 'object' && value !== null && '$ref' in value) {
    at = (value as Ref).$ref.replace(/^#\//, '').split('/').map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
    value = at.reduce<unknown>((node, token) => (node as Record<string, unknown>)[token], spec);
  }
  if (value === undefined) throw new Error(`docs/openapi.yaml has nothing at /${pointer.join('/')}`);
  return { value: value as T, at };
}

const templates = Object.keys(spec.paths)
  // As Vercel routes: a static segment wins over a dynamic one.
  .sort((a, b) => a.split('{').length - b.split('{').length)
  .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}/?$`) }));

/** The spec's path template serving `pathname`, with its raw (undecoded) parameters. */
function pathTemplate(pathname: string): { template: string; params: Record<string, string> } | undefined {
  for (const { template, pattern } of templates) {
    const match = pattern.exec(pathname);
    if (match) return { template, params: { ...match.groups } };
  }
  return undefined;
}

export interface Exchange {
  method: string;
  url: string;
  requestHeaders: Headers;
  requestBody: string | Uint8Array | undefined;
  status: number;
  headers: Headers;
  body: string;
}

/** Headers the transport owns, which an OpenAPI document does not describe. */
const TRANSPORT_HEADERS = new Set(['content-type', 'content-length']);

/** Throws, listing every disagreement, when the exchange is not one docs/openapi.yaml allows. */
export function checkExchange(exchange: Exchange): void {
  const url = new URL(exchange.url);
  const where = `${exchange.method} ${url.pathname} → ${exchange.status}`;
  const found = pathTemplate(url.pathname);
  if (!found) throw new ContractError(where, [`docs/openapi.yaml has no path for ${url.pathname}`]);
  const item = spec.paths[found.template]!;
  const method = exchange.method.toLowerCase() as (typeof METHODS)[number];
  const operation = METHODS.includes(method) ? item[method] : undefined;
  const disagreements: string[] = [];
  if (!operation) {
    // Not an operation of this path: the answer is the 405 every path gives.
    const allow = METHODS.filter((name) => item[name]).map((name) => name.toUpperCase());
    const sent = exchange.headers.get('allow')?.split(', ').sort();
    if (JSON.stringify(sent) !== JSON.stringify([...allow].sort())) disagreements.push(`Allow is "${exchange.headers.get('allow')}", the path's operations are ${allow.join(', ')}`);
    if (exchange.status !== 405) disagreements.push(`${exchange.method} is not an operation of ${found.template}: the answer must be 405`);
    else checkResponse(['components', 'responses', 'MethodNotAllowed'], exchange, ['method_not_allowed'], disagreements);
  } else {
    const operationAt = ['paths', found.template, method];
    const statuses = Object.keys(operation.responses);
    if (!statuses.includes(String(exchange.status))) {
      disagreements.push(`status ${exchange.status} is not documented for this operation (documented: ${statuses.join(', ')})`);
    } else {
      checkResponse([...operationAt, 'responses', String(exchange.status)], exchange, operation['x-error-codes'], disagreements);
      if (exchange.status < 300) checkAcceptedRequest(found.template, operation, found.params, exchange, disagreements);
    }
  }
  if (disagreements.length > 0) throw new ContractError(where, disagreements);
}

export class ContractError extends Error {
  constructor(where: string, disagreements: string[]) {
    super(`docs/openapi.yaml disagrees with ${where}:\n${disagreements.map((line) => `  - ${line}`).join('\n')}`);
    this.name = 'ContractError';
  }
}

function checkResponse(pointer: Pointer, exchange: Exchange, codes: string[], disagreements: string[]): void {
  const { value: response, at } = resolve<ResponseObject>(pointer);
  const documented = new Map(Object.keys(response.headers ?? {}).map((name) => [name.toLowerCase(), resolve<HeaderObject>([...at, 'headers', name])]));
  for (const [name, { value: header, at: headerAt }] of documented) {
    const value = exchange.headers.get(name);
    if (value === null) {
      if (header.required) disagreements.push(`header ${name} is required and missing`);
    } else {
      const schema = { type: 'object', properties: { [name]: refTo([...headerAt, 'schema']) } };
      disagreements.push(...failures(texts, schema, { [name]: value }, `header ${name}`));
    }
  }
  for (const [name] of exchange.headers) {
    if (!documented.has(name) && !TRANSPORT_HEADERS.has(name)) disagreements.push(`header ${name} is not documented for this response`);
  }

  const mediaType = exchange.headers.get('content-type')?.split(';')[0]?.trim();
  if (!response.content) {
    if (exchange.body !== '') disagreements.push('the response has a body; the spec documents none');
    return;
  }
  const mediaTypes = Object.keys(response.content);
  if (mediaType === undefined || !mediaTypes.includes(mediaType)) {
    disagreements.push(`Content-Type ${mediaType ?? '(none)'} is not documented (documented: ${mediaTypes.join(', ')})`);
    return;
  }
  // Text and images are what they are: only JSON bodies have a schema worth holding them to.
  if (!mediaType.endsWith('json')) return;
  let body: unknown;
  try {
    body = JSON.parse(exchange.body);
  } catch {
    disagreements.push(`the body is not JSON: ${exchange.body.slice(0, 80)}`);
    return;
  }
  disagreements.push(...failures(bodies, refTo([...at, 'content', mediaType, 'schema']), body, 'body'));
  const code = (body as { code?: unknown }).code;
  if (mediaType === 'application/problem+json' && typeof code === 'string' && !codes.includes(code)) {
    disagreements.push(`code ${code} is not among the operation's x-error-codes (${codes.join(', ')})`);
  }
}

/**
 * A request the function accepted (2xx) must be one the spec allows: else the spec asks for less
 * than the code takes, or names a field or parameter differently.
 */
function checkAcceptedRequest(template: string, operation: Operation, rawParams: Record<string, string>, exchange: Exchange, disagreements: string[]): void {
  const operationAt = ['paths', template, exchange.method.toLowerCase()];
  const declared = [
    ...(spec.paths[template]!.parameters ?? []).map((_, i) => resolve<ParameterObject>(['paths', template, 'parameters', String(i)])),
    ...(operation.parameters ?? []).map((_, i) => resolve<ParameterObject>([...operationAt, 'parameters', String(i)])),
  ];
  const url = new URL(exchange.url);
  const given = {
    path: Object.fromEntries(Object.entries(rawParams).map(([name, value]) => [name, decodeURIComponent(value)])),
    query: Object.fromEntries(url.searchParams),
    header: Object.fromEntries([...exchange.requestHeaders].filter(([name]) => declared.some((p) => p.value.in === 'header' && p.value.name.toLowerCase() === name))),
  };
  for (const place of ['path', 'query', 'header'] as const) {
    const params = declared.filter(({ value }) => value.in === place);
    const schema: Schema = {
      type: 'object',
      properties: Object.fromEntries(params.map(({ value, at }) => [place === 'header' ? value.name.toLowerCase() : value.name, refTo([...at, 'schema'])])),
      required: params.filter(({ value }) => value.required).map(({ value }) => (place === 'header' ? value.name.toLowerCase() : value.name)),
      // An operation that reads its query refuses unknown parameters: one it accepted is missing here.
      ...(place === 'query' && params.length > 0 ? { additionalProperties: false } : {}),
    };
    disagreements.push(...failures(texts, schema, given[place], `request ${place}`).map((line) => `the function accepted a request the spec refuses: ${line}`));
  }

  if (!operation.requestBody) return;
  const text = typeof exchange.requestBody === 'string' ? exchange.requestBody : new TextDecoder().decode(exchange.requestBody ?? new Uint8Array());
  if (text === '') {
    if (operation.requestBody.required) disagreements.push('the function accepted an empty body; the spec requires one');
    return;
  }
  const mediaType = exchange.requestHeaders.get('content-type')?.split(';')[0]?.trim().toLowerCase() ?? '(none)';
  if (!operation.requestBody.content[mediaType]) {
    disagreements.push(`the function accepted a ${mediaType} body; the spec takes ${Object.keys(operation.requestBody.content).join(', ')}`);
    return;
  }
  if (mediaType !== 'application/x-www-form-urlencoded' && !mediaType.endsWith('json')) return;
  const body = mediaType === 'application/x-www-form-urlencoded' ? Object.fromEntries(new URLSearchParams(text)) : (JSON.parse(text) as unknown);
  const schema = refTo([...operationAt, 'requestBody', 'content', mediaType, 'schema']);
  disagreements.push(...failures(bodies, schema, body, 'request body').map((line) => `the function accepted a request the spec refuses: ${line}`));
}

/** What `data` breaks of `schema`, as one readable line (none when it conforms). */
function failures(ajv: Ajv2020, schema: Schema, data: unknown, label: string): string[] {
  const validate = validator(ajv, schema);
  if (validate(data)) return [];
  const problems = new Set((validate.errors ?? []).slice(0, 6).map((error: ErrorObject) => {
    const detail = error.params.allowedValues ?? error.params.additionalProperty ?? error.params.unevaluatedProperty ?? error.params.allowedValue;
    return `${error.instancePath || '/'} ${error.message}${detail === undefined ? '' : ` (${JSON.stringify(detail)})`}`;
  }));
  return [`${label}: ${[...problems].join('; ')}, in ${JSON.stringify(data).slice(0, 300)}`];
}
