// docs/openapi.yaml is the one source of the response shapes; the types written against it are held
// to it by the compiler. Each spec schema is turned into a TypeScript type, then:
// - lib/'s types (what the server sends, and what the console reads, since it imports them) must be
//   values the spec allows, and name no field the spec lacks;
// - the mini program kit's types (miniprogram/wxlogin/index.d.ts, a package of its own that cannot
//   import server code) must read whatever the spec allows, and name no field the spec lacks.
// So neither side can drift from the spec, nor from the other.
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { spec } from './support/contract.js';

/** The server's type (a module of lib/ and a type it exports) that each spec schema's responses are sent as. */
const LIB_TYPES: Record<string, [module: string, type: string]> = {
  LoginResult: ['people/login', 'LoginResult'],
  Claim: ['benefits/claims', 'Claim'],
  BenefitStatus: ['benefits/claims', 'BenefitStatus'],
  Benefit: ['benefits/claims', 'AdminBenefit'],
  BenefitPolicy: ['benefits/claims', 'BenefitPolicy'],
  FeedEntry: ['benefits/feed', 'FeedEntry'],
  FeedPage: ['benefits/feed', 'FeedPage'],
  AuditEvent: ['people/events', 'AuditEvent'],
  PersonView: ['people/operators', 'PersonView'],
  Merge: ['people/operators', 'Merge'],
  Consent: ['people/consents', 'Consent'],
  ClaimRecord: ['benefits/feed', 'ClaimRecord'],
  StoryEvent: ['privacy/copy', 'StoryEvent'],
  PersonalDataCopy: ['privacy/copy', 'PersonalDataCopy'],
  // api/sessions/index.ts adds `current` to each.
  ListedSession: ['sessions/tokens', 'OwnSession & { current: boolean }'],
};

/** The kit's type (an expression over `Kit`) that each spec schema's responses are read as. */
const KIT_TYPES: Record<string, string> = {
  LoginResult: 'Kit.LoginResult',
  User: 'Kit.User',
  Account: 'Kit.Account',
  Claim: 'Kit.Claim',
  BenefitStatus: 'Kit.Benefit',
  Consent: 'Kit.Consent',
  // The kit adds the status it narrows on to POST /api/phone's answer.
  VerifiedPhone: "Omit<Extract<Kit.PhoneBinding, { status: 'bound' }>, 'status'>",
};

type Schema = Record<string, unknown>;
const ANNOTATIONS = new Set(['description', 'examples']);
/** Keywords that constrain values beyond what a TypeScript type says. */
const NARROWING = new Set(['pattern', 'format', 'minimum', 'maximum', 'minLength', 'maxLength']);

/** A TypeScript type for `schema`; throws on a keyword it cannot express, rather than guess. */
function typeOf(schema: Schema, named: Set<string>): string {
  const unknown = Object.keys(schema).filter(
    (key) => !ANNOTATIONS.has(key) && !NARROWING.has(key) && !['$ref', 'const', 'enum', 'oneOf', 'type', 'items', 'properties', 'required', 'additionalProperties'].includes(key),
  );
  if (unknown.length > 0) throw new Error(`cannot express ${unknown.join(', ')} as a TypeScript type`);
  if (typeof schema.$ref === 'string') {
    if (Object.keys(schema).some((key) => key !== '$ref' && !ANNOTATIONS.has(key))) throw new Error(`cannot express a $ref with constraints: ${JSON.stringify(schema)}`);
    const name = schema.$ref.split('/').pop()!;
    named.add(name);
    return `Spec_${name}`;
  }
  if ('const' in schema) return JSON.stringify(schema.const);
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => JSON.stringify(value)).join(' | ');
  if (Array.isArray(schema.oneOf)) return schema.oneOf.map((member: Schema) => `(${typeOf(member, named)})`).join(' | ');
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
  return types.map((type) => primitive(type, schema, named)).join(' | ');
}

function primitive(type: string, schema: Schema, named: Set<string>): string {
  switch (type) {
    case 'string':
    case 'boolean':
    case 'null':
      return type;
    case 'integer':
    case 'number':
      return 'number';
    case 'array':
      return `Array<${typeOf(schema.items as Schema, named)}>`;
    case 'object': {
      const required = new Set((schema.required as string[] | undefined) ?? []);
      const members = Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {}).map(
        ([name, member]) => `${JSON.stringify(name)}${required.has(name) ? '' : '?'}: ${typeOf(member, named)};`,
      );
      const rest = schema.additionalProperties;
      if (rest !== false) members.push(`[key: string]: ${rest === undefined || rest === true ? 'unknown' : typeOf(rest as Schema, named)};`);
      return `{ ${members.join(' ')} }`;
    }
    default:
      throw new Error(`cannot express type ${type} as a TypeScript type`);
  }
}

/** Spec_<name> declarations for `names` and every schema they refer to. */
function declarations(names: Iterable<string>): string {
  const pending = new Set(names);
  const done = new Map<string, string>();
  for (const name of pending) {
    const schema = spec.components.schemas[name];
    if (!schema) throw new Error(`docs/openapi.yaml has no schema ${name}`);
    done.set(name, `type Spec_${name} = ${typeOf(schema, pending)};`);
  }
  return [...done.values()].join('\n');
}

/** The compiler's complaints about `source`, compiled at the repository's top as a TypeScript mini program would. */
function diagnostics(source: string): string[] {
  const file = new URL('../contract-check.ts', import.meta.url).pathname;
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [], skipLibCheck: true };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language) => (name === file ? ts.createSourceFile(name, source, language) : read(name, language));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

function kitSource(kitTypes: Record<string, string>): string {
  const checks = Object.entries(kitTypes).map(([name, kit], i) => [
    `// ${name} → ${kit}`,
    `export const reads${i}: (sent: Spec_${name}) => ${kit} = (sent) => sent;`,
    `export const names${i}: Record<Exclude<keyof (${kit}), keyof Spec_${name}>, never> = {};`,
  ].join('\n'));
  return [`import type * as Kit from './miniprogram/wxlogin/index.js';`, declarations(Object.keys(kitTypes)), ...checks].join('\n');
}

function libSource(libTypes: Record<string, [string, string]>): string {
  const lines = Object.entries(libTypes).map(([name, [module, type]], i) => [
    `// lib/${module}.ts ${type} → ${name}`,
    `import type * as Lib${i} from './lib/${module}.js';`,
    `type Sent${i} = ${type.replace(/^\w+/, (exported) => `Lib${i}.${exported}`)};`,
    `export const sends${i}: (sent: Sent${i}) => Spec_${name} = (sent) => sent;`,
    `export const names${i}: Record<Exclude<keyof Sent${i}, keyof Spec_${name}>, never> = {};`,
  ].join('\n'));
  return [declarations(Object.keys(libTypes)), ...lines].join('\n');
}

describe("the kit's response types", () => {
  it('read every response the spec allows, and name no field it lacks', () => {
    expect(diagnostics(kitSource(KIT_TYPES))).toEqual([]);
  });

  it('are refused when they drift from the spec', () => {
    // A kit type that declares a field the spec does not have, or a nullable one as never null.
    const drifted = diagnostics(kitSource({ Claim: '{ benefit: string; appid: string; claimedAt: string; points: number }', User: "Omit<Kit.User, 'unionid'> & { unionid: string }" }));
    expect(drifted.join('\n')).toMatch(/points/);
    expect(drifted.join('\n')).toMatch(/Type 'null' is not assignable to type 'string'/);
  });
});

describe("lib/'s response types", () => {
  it('are values the spec allows, and name no field it lacks', () => {
    expect(diagnostics(libSource(LIB_TYPES))).toEqual([]);
  });

  it('are refused when they drift from the spec', () => {
    // The spec's Claim read as if it were the server's FeedEntry: missing fields, and extra ones.
    const drifted = diagnostics(libSource({ Claim: ['benefits/feed', 'FeedEntry'] })).join('\n');
    expect(drifted).toMatch(/cursor/);
  });
});
