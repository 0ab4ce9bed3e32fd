// Property-based abuse of every endpoint (fast-check): random methods, headers, content types and
// bodies (deep JSON, huge strings, __proto__ keys, invalid UTF-8, wrong types), random and tampered
// bearer tokens. Never a 5xx, always problem+json with a documented code, and no state change:
// rows in people/accounts and Redis keys (rate-limit counters aside) are the same before and after.
// Then every text and number input of every operation docs/openapi.yaml declares (body fields,
// nested ones too, query and path parameters, the headers read) gets NUL, C0/C1 controls, lone
// surrogates, bidi controls, 4-byte characters, overlong strings and the int64 edges, with valid
// credentials and every other field valid, so the bad one is what the function judges.
// The stack is isolated: this file's own Postgres and Redis databases, so the counts are exact.
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../lib/platform/postgres.js';
import { catalog, type ErrorCode } from '../lib/platform/errors.js';
import { newRequestContext } from '../lib/platform/request-context.js';
import { openSessionKey, requireSession } from '../lib/sessions/tokens.js';
import { METHODS, spec } from './support/contract.js';
import { APP_A, APP_B, startStack, type CallResult, type Stack } from './support/stack.js';

let stack: Stack;
let liveToken: string;
/** Each endpoint's methods, from the Allow header of its 405. */
const allowed = new Map<string, string[]>();
beforeAll(async () => {
  stack = await startStack({
    isolated: true,
    env: {
      RATE_LIMIT_LOGIN_PER_IP: 'off',
      RATE_LIMIT_LOGIN_PER_ACCOUNT: 'off',
      RATE_LIMIT_PER_SESSION: 'off',
      RATE_LIMIT_AUTH_FAILURES_PER_IP: 'off',
      ADMIN_KEYS: `fuzz:${ADMIN_KEY}`,
      SERVICE_KEYS: `fuzz:${SERVICE_KEY}`,
    },
  });
  // A real session exists while the fuzzer runs: tampered copies of its token must not reach it.
  liveToken = (await stack.login(stack.person())).body.token;
  for (const name of ENDPOINTS) {
    const probe = await stack.call(name.replace(/\[\w+\]/g, 'probe'), 'OPTIONS');
    allowed.set(name, probe.headers.get('allow')!.split(', '));
  }
});
afterAll(() => stack.close());

/** Every api/ function by its route, dynamic segments in brackets (sessions/[handle]). */
const ENDPOINTS = readdirSync(new URL('../api/', import.meta.url), { recursive: true })
  .filter((file): file is string => typeof file === 'string' && file.endsWith('.ts'))
  .map((file) => file.slice(0, -3).replace(/\/index$/, ''));
const ADMIN_KEY = 'fuzz-admin-key-0123456789-abcdefghij';
const SERVICE_KEY = 'fuzz-service-key-0123456789-abcdefgh';
/** Endpoints whose success changes nothing: the fuzzer may reach them with the right key. */
const READ_ONLY = ['health GET', 'admin/me GET', 'admin/events GET', 'admin/benefits GET', 'service/claims GET', 'introspect POST', 'cron/prune-events GET'];

async function state() {
  const [counts] = await query<{ people: number; accounts: number }>(
    'select (select count(*) from people)::int as people, (select count(*) from accounts)::int as accounts',
  );
  const keys = (await stack.redisKeys()).filter((key) => !key.startsWith(`${stack.keyPrefix}rl:`));
  return { ...counts, keys };
}

/** The only successes a random request may earn: reads that change nothing. */
function expectDocumentedAnswer(name: string, method: string, result: CallResult) {
  expect(result.status, `${method} /api/${name}`).toBeLessThan(500);
  if (result.status < 400) {
    expect(READ_ONLY).toContain(`${name} ${method}`);
    expect(result.status).toBe(200);
    return;
  }
  expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const code = result.body.code as ErrorCode;
  expect(Object.keys(catalog)).toContain(code);
  expect(result.body.status).toBe(result.status);
  expect(catalog[code].status).toBe(result.status);
  expect(result.body.type).toBe(`urn:wxlogin:problem:${code}`);
}

const printable = (maxLength: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${maxLength}}$`));

/** A token that looks right, and variants of the live one with one character changed. */
const tokenArb = fc.oneof(
  fc.stringMatching(/^wxl_[A-Za-z0-9_-]{43}$/),
  fc.tuple(fc.nat(46), fc.constantFrom(...'AZaz09_-x')).map(([at, char]) => {
    const index = 4 + (at % 43);
    const changed = liveToken.slice(0, index) + char + liveToken.slice(index + 1);
    return changed === liveToken ? `${liveToken}x` : changed;
  }),
  fc.constantFrom('cut', 'doubled').map((variant) => (variant === 'cut' ? liveToken.slice(0, -1) : `${liveToken} ${liveToken}`)),
  printable(80),
);

const headersArb = fc.record(
  {
    'content-type': fc.oneof(
      { arbitrary: fc.constant('application/json'), weight: 4 },
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/problem+json'),
      printable(40),
    ),
    authorization: fc.oneof(
      tokenArb.map((token) => `Bearer ${token}`),
      fc.constantFrom(ADMIN_KEY, SERVICE_KEY).map((key) => `Bearer ${key}`),
      tokenArb.map((token) => `bearer   ${token}`),
      fc.constantFrom('Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Token abc'),
      printable(120),
    ),
    referer: fc.oneof(
      fc.constantFrom(APP_A, APP_B, 'wx1111111111111111', '../..').map((appid) => `https://servicewechat.com/${appid}/1/page-frame.html`),
      printable(120),
    ),
    'x-forwarded-for': printable(60),
    'x-vercel-id': printable(140),
  },
  { requiredKeys: [] },
);

const nested = (depth: number, open: string, close: string, inner: string) => open.repeat(depth) + inner + close.repeat(depth);

const loginFieldArb = fc.oneof(
  fc.anything(),
  fc.stringMatching(/^[A-Za-z0-9_:.-]{1,128}$/),
  fc.constantFrom(APP_A, APP_B, 'wx1111111111111111'),
  fc.string({ maxLength: 300 }),
  fc.integer(),
  fc.double(),
);

const bodyTextArb = fc.oneof(
  fc.json({ maxDepth: 4 }),
  fc.record({ code: loginFieldArb, appid: loginFieldArb, all: fc.anything() }, { requiredKeys: [] }).map((body) => JSON.stringify(body)),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty').map(
    (key) => `{"${key}": {"code": "x", "admin": true}, "code": "abc"}`,
  ),
  fc.integer({ min: 1, max: 3000 }).map((depth) => nested(depth, '[', ']', '1')),
  fc.integer({ min: 1, max: 2000 }).map((depth) => `{"code":${nested(depth, '{"a":', '}', '"x"')}}`),
  fc.integer({ min: 1000, max: 100_000 }).map((size) => `{"code":"${'a'.repeat(size)}"}`),
  fc.constantFrom('', ' ', 'null', '[]', '"code"', '{"code":1e400}', '{"code":null}', '{"all":"true"}', '{"all":1}', '{"code":"a","code":"b"}', '{', '\uFEFF{"code":"abc"}'),
);

const invalidUtf8Arb = fc
  .tuple(fc.uint8Array({ maxLength: 64 }), fc.constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]))
  .map(([random, bad]) => Buffer.concat([Buffer.from('{"code":"'), Buffer.from(random), Buffer.from(bad), Buffer.from('"}')]));

/** What a dynamic segment may hold: ids of nobody, junk, and broken percent-encoding. */
const segmentArb = fc.oneof(
  fc.uuid(),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/),
  fc.constantFrom('%', '%zz', '%E0%A4%A', '%2F', 'null', '00000000-0000-0000-0000-000000000000'),
);

/** A random query string, now and then with the fields the admin endpoints read. */
const queryArb = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.constantFrom('id', 'appid', 'openid', 'unionid', 'phone', 'reveal', 'person', 'kind', 'after', 'limit', 'x'), printable(40), { maxKeys: 3 }).map(
    (params) => `?${new URLSearchParams(params)}`,
  ),
);

// Mostly the endpoint's own method, so most requests get past method dispatch.
const requestArb = fc
  .record({
    name: fc.constantFrom(...ENDPOINTS),
    segment: segmentArb,
    query: queryArb,
    pick: fc.nat(),
    other: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'),
    ownMethod: fc.nat(4).map((n) => n > 0),
    headers: headersArb,
    body: fc.oneof(bodyTextArb, invalidUtf8Arb),
  })
  .map(({ name, segment, query, pick, other, ownMethod, headers, body }) => {
    const own = allowed.get(name)!;
    const path = name.replace(/\[\w+\]/g, segment) + query;
    return { name, path, method: ownMethod ? own[pick % own.length]! : other, headers, body };
  });

const counts = { requests: 0, byStatus: {} as Record<number, number> };

describe('random requests to every endpoint', () => {
  it('covers every api/ function', () => {
    expect(ENDPOINTS).toEqual(expect.arrayContaining(['health', 'login', 'logout', 'me', 'sessions/[handle]', 'admin/people/[id]/suspend']));
  });

  it('never answer 5xx, always a documented problem, and change nothing', async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(requestArb, async ({ name, path, method, headers, body }) => {
        const withBody = method !== 'GET' && method !== 'HEAD';
        const result = await stack.call(path, method, { headers, ...(withBody ? { body } : {}) });
        counts.requests += 1;
        counts.byStatus[result.status] = (counts.byStatus[result.status] ?? 0) + 1;
        expectDocumentedAnswer(name, method, result);
      }),
      { numRuns: 1500 },
    );
    expect(await state()).toEqual(before);
    // The live session survived every tampered copy of its token.
    expect((await stack.call('me', 'GET', { token: liveToken })).status).toBe(200);
  });

  it('login bodies with the right shape but wrong values: 4xx, no user, no session', async () => {
    const before = await state();
    await fc.assert(
      fc.asyncProperty(
        fc.record({ code: loginFieldArb, appid: loginFieldArb }, { requiredKeys: ['code'] }),
        async (body) => {
          const result = await stack.call('login', 'POST', { json: body });
          counts.requests += 1;
          counts.byStatus[result.status] = (counts.byStatus[result.status] ?? 0) + 1;
          expectDocumentedAnswer('login', 'POST', result);
        },
      ),
      { numRuns: 500 },
    );
    expect(await state()).toEqual(before);
    console.info(`fuzz: ${counts.requests} requests, statuses ${JSON.stringify(counts.byStatus)}`);
  });
});

type Schema = Record<string, unknown>;
/** One input of an operation: where it travels and its (dotted) name. */
interface Input {
  at: 'path' | 'query' | 'header' | 'body';
  name: string;
  kind: 'text' | 'number';
}
interface Target {
  template: string;
  method: string;
  security: string[];
  body: Schema | null;
  form: boolean;
  input: Input;
}

const deref = (schema: Schema): Schema => {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  return deref(ref.replace(/^#\//, '').split('/').reduce<Schema>((node, token) => node[token] as Schema, spec as unknown as Schema));
};

/** The leaves of a body schema, nested objects as dotted names; booleans are not text. */
function leaves(schema: Schema, prefix = ''): Input[] {
  const resolved = deref(schema);
  const properties = resolved.properties as Record<string, Schema> | undefined;
  if (properties) return Object.entries(properties).flatMap(([name, property]) => leaves(property, `${prefix}${name}.`));
  const types = [resolved.type ?? []].flat();
  // A boolean has no text to break; a body declared only as "an object" (WeChat's push) has no named field.
  if (types.includes('boolean') || prefix === '') return [];
  return [{ at: 'body', name: prefix.slice(0, -1), kind: types.includes('integer') ? 'number' : 'text' }];
}

/** What a valid request puts in each required field, so that only the target is wrong. */
const VALID: Record<string, unknown> = {
  code: 'fuzzcode0123',
  appid: APP_A,
  benefit: 'welcome-gift',
  confirm: 'delete',
  token: `wxl_${'a'.repeat(43)}`,
  reason: 'fuzz',
  document: 'privacy',
  version: '2026-01-01',
  purpose: 'T-1',
};

/** A value the field takes: the spec's own (an enum's first, a const), else a known good one, else 'x'. */
function validValue(name: string, schema: Schema): unknown {
  const resolved = deref(schema);
  if (Array.isArray(resolved.enum)) return resolved.enum[0];
  if ('const' in resolved) return resolved.const;
  return VALID[name] ?? 'x';
}

function validBody(schema: Schema): Record<string, unknown> {
  const resolved = deref(schema);
  const properties = (resolved.properties ?? {}) as Record<string, Schema>;
  const required = (resolved.required ?? []) as string[];
  return Object.fromEntries(
    required.map((name) => [name, deref(properties[name]!).properties ? validBody(properties[name]!) : validValue(name, properties[name]!)]),
  );
}

/** Every text and number input of every operation in the spec. */
const TARGETS: Target[] = Object.entries(spec.paths).flatMap(([template, item]) =>
  METHODS.flatMap((method) => {
    const operation = item[method];
    if (!operation) return [];
    const security = (operation.security ?? []).flatMap((requirement) => Object.keys(requirement));
    const content = operation.requestBody?.content ?? {};
    const body = (content['application/json'] ?? content['application/x-www-form-urlencoded'])?.schema ?? null;
    const inputs: Input[] = [
      ...[...(item.parameters ?? []), ...(operation.parameters ?? [])].map((parameter) => {
        const { name, in: at, schema } = deref(parameter as Schema) as { name: string; in: Input['at']; schema: Schema };
        return { at, name, kind: [deref(schema).type ?? []].flat().includes('integer') ? 'number' : 'text' } as Input;
      }),
      ...(security.length > 0 ? [{ at: 'header', name: 'Authorization', kind: 'text' } as Input] : []),
      ...(body ? leaves(body as Schema) : []),
    ];
    return inputs.map((input) => ({ template, method: method.toUpperCase(), security, body: body as Schema | null, form: !content['application/json'], input }));
  }),
);

const INT64_EDGES = ['9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '18446744073709551615', '18446744073709551616', '99999999999999999999', '-1', '0'];
/** Characters the input rule refuses: C0 and C1 controls, DEL, lone surrogates, bidi controls. */
const refusedChar = fc
  .oneof(
    fc.integer({ min: 0, max: 0x1f }),
    fc.integer({ min: 0x7f, max: 0x9f }),
    fc.integer({ min: 0xd800, max: 0xdfff }),
    fc.constantFrom(0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069),
  )
  .map((code) => String.fromCharCode(code));
const fourByte = fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code));
const around = (inner: fc.Arbitrary<string>) => fc.tuple(printable(8), inner, printable(8)).map((parts) => parts.join(''));
const nastyText = fc.oneof(
  { arbitrary: around(refusedChar), weight: 4 },
  around(fc.array(fourByte, { minLength: 1, maxLength: 40 }).map((chars) => chars.join(''))),
  fc.tuple(fc.integer({ min: 65, max: 6000 }), fc.constantFrom('a', '中', '😀', '\u0000')).map(([length, char]) => char.repeat(length)),
  fc.constantFrom(...INT64_EDGES),
);
/** Header values must be bytes without NUL, CR or LF: the controls that can travel there. */
const nastyHeader = around(fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0x0b, max: 0x0c }), fc.integer({ min: 0x0e, max: 0x1f }), fc.integer({ min: 0x7f, max: 0xff })).map((code) => String.fromCharCode(code)));
const nastyNumber = fc.oneof(
  fc.constantFrom(2 ** 63, -(2 ** 63), 2 ** 64, Number.MAX_SAFE_INTEGER + 2, -0, 0.5, 1e308, -1),
  fc.constantFrom(...INT64_EDGES),
  nastyText,
);

/** Percent-encodes a path segment; a lone surrogate as the bytes UTF-8 forbids (ED A0 80). */
const segment = (value: string) => {
  try {
    return encodeURIComponent(value);
  } catch {
    return '%ED%A0%80';
  }
};

const PATH_VALUES: Record<string, () => string> = {
  id: () => randomUUID(),
  handle: () => 'A'.repeat(22),
  key: () => 'fuzz-gift',
  hash: () => '0'.repeat(64),
  appid: () => 'wx0000000000000000',
  document: () => 'privacy',
};

function setDotted(body: Record<string, unknown>, name: string, value: unknown) {
  const [head, ...rest] = name.split('.');
  if (rest.length === 0) body[head!] = value;
  else setDotted((body[head!] = { ...(body[head!] as Record<string, unknown> | undefined) }), rest.join('.'), value);
}

const targetedArb = fc
  .record({ target: fc.constantFrom(...TARGETS), text: nastyText, number: nastyNumber, header: nastyHeader })
  .map(({ target, text, number, header }) => {
    const { input } = target;
    const value = input.at === 'header' ? header : input.kind === 'number' && input.at === 'body' ? number : text;
    const headers: Record<string, string> = {};
    const credential = target.security.includes('session') ? liveToken : target.security.includes('serviceKey') ? SERVICE_KEY : ADMIN_KEY;
    if (target.security.length > 0) headers.authorization = `Bearer ${credential}`;
    if (input.at === 'header') headers[input.name.toLowerCase()] = input.name === 'Authorization' ? `Bearer ${value as string}` : (value as string);
    let path = target.template.replace(/^\/api\//, '').replace(/\{(\w+)\}/g, (_, name: string) => (input.at === 'path' && input.name === name ? segment(value as string) : PATH_VALUES[name]!()));
    if (input.at === 'query') path += `?${new URLSearchParams({ [input.name]: value as string })}`;
    let body: string | undefined;
    if (target.body) {
      const fields = validBody(target.body);
      if (input.at === 'body') setDotted(fields, input.name, value);
      body = target.form ? String(new URLSearchParams(fields as Record<string, string>)) : JSON.stringify(fields);
      headers['content-type'] = target.form ? 'application/x-www-form-urlencoded' : 'application/json';
    }
    return { target, path, headers, body, value };
  });

/** What the input rule refuses in free text (tab and newline allowed) and everywhere else. */
const breaksRule = (value: unknown, name: string) =>
  typeof value === 'string' && (name === 'reason' ? /(?![\t\n])[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u : /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/u).test(value);

describe('every input of every operation, with the characters and numbers that break systems', () => {
  it('the spec declares inputs of every kind, nested routes and nested fields included', () => {
    const names = TARGETS.map(({ template, method, input }) => `${method} ${template} ${input.at}:${input.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /api/admin/people/{id}/suspend path:id',
        'POST /api/admin/people/{id}/suspend body:reason',
        'PUT /api/admin/benefits/{key} body:title.zh',
        'PUT /api/admin/benefits/{key} body:policy.newWithinDays',
        'GET /api/service/claims query:after',
        'POST /api/claims header:Idempotency-Key',
        'DELETE /api/sessions/{handle} path:handle',
        'POST /api/introspect body:token',
      ]),
    );
  });

  it('2,000 requests: never 5xx, always a documented answer; a body or query text breaking the rule is 400 naming it', async () => {
    const before = await state();
    let sent = 0;
    await fc.assert(
      fc.asyncProperty(targetedArb, async ({ target, path, headers, body, value }) => {
        const name = path.replace(/\?.*$/, '').replace(/\{(\w+)\}/g, '[$1]');
        const result = await stack.call(path, target.method, { headers, ...(body === undefined ? {} : { body }) });
        sent += 1;
        expect(result.status, `${target.method} /api/${path}`).toBeLessThan(500);
        if (result.status >= 400) expectDocumentedAnswer(name, target.method, result);
        const { input } = target;
        // What the server receives: a URL carries a lone surrogate as U+FFFD, which breaks no rule.
        const received = input.at === 'query' ? new URLSearchParams(path.split('?')[1]).get(input.name) : value;
        if ((input.at === 'body' || input.at === 'query') && breaksRule(received, input.name) && Buffer.byteLength(body ?? '') <= 4096) {
          expect([result.status, result.body.code, result.body.detail], `${target.method} ${target.template} ${input.name}`).toEqual([
            400,
            'invalid_request',
            expect.stringContaining(`"${input.name}"`),
          ]);
        }
      }),
      { numRuns: 2000 },
    );
    expect(sent).toBeGreaterThanOrEqual(2000);
    // A phone code of digits is well-formed: WeChat is asked (and its access_token cached).
    const after = await state();
    expect({ ...after, keys: after.keys.filter((key) => !key.includes(':access-token:')) }).toEqual(before);
    expect((await stack.call('me', 'GET', { token: liveToken })).status).toBe(200);
  });
});

describe('tokens and sealed session keys', () => {
  it('any token but the issued one is refused with 401', async () => {
    await fc.assert(
      fc.asyncProperty(tokenArb, async (token) => {
        fc.pre(token !== liveToken);
        await expect(requireSession(token, newRequestContext('fuzz', Date.now() + 9000))).rejects.toMatchObject({ code: 'unauthorized' });
      }),
      { numRuns: 500 },
    );
  });

  it('any change to the sealed session_key envelope is rejected', async () => {
    const { session } = await requireSession(liveToken, newRequestContext('fuzz', Date.now() + 9000));
    const original = openSessionKey(session);
    const envelope = session.sealedSessionKey;
    await fc.assert(
      fc.property(fc.nat(envelope.length - 1), fc.constantFrom(...'AQgw019_-.x'), (at, char) => {
        const tampered = envelope.slice(0, at) + char + envelope.slice(at + 1);
        let opened: string | null = null;
        try {
          opened = openSessionKey({ ...session, sealedSessionKey: tampered });
        } catch {
          return;
        }
        // Only a change that decodes to the same bytes (base64 padding bits) may open, to the same key.
        expect(opened).toBe(original);
        expect(canonical(tampered)).toBe(canonical(envelope));
      }),
      { numRuns: 1000 },
    );
  });
});

function canonical(envelope: string): string {
  return envelope
    .split('.')
    .map((part, index) => (index < 2 ? part : Buffer.from(part, 'base64url').toString('hex')))
    .join('.');
}
