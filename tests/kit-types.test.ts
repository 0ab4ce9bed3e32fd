// The mini program kit's response types (miniprogram/wxlogin/index.d.ts) held to docs/openapi.yaml:
// each spec schema is turned into a TypeScript type, and the compiler checks that whatever the
// spec allows the server to send is a value of the kit's type, and that the kit names no field the
// spec does not.
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { spec } from './support/contract.js';

/** The kit's type (an expression over `Kit`) that each spec schema's responses are read as. */
const KIT_TYPES: Record<string, string> = {
  LoginResult: 'Kit.LoginResult',
  User: 'Kit.User',
  Account: 'Kit.Account',
  Claim: 'Kit.Claim',
  BenefitStatus: 'Kit.Benefit',
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

/** The compiler's complaints about `source`, compiled beside the kit as a TypeScript mini program would. */
function diagnostics(source: string, overrides: ts.CompilerOptions = {}): string[] {
  const file = new URL('../kit-contract.ts', import.meta.url).pathname;
  const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: [], skipLibCheck: true, ...overrides };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, language) => (name === file ? ts.createSourceFile(name, source, language) : read(name, language));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

function contractSource(kitTypes: Record<string, string>): string {
  const checks = Object.entries(kitTypes).map(([name, kit], i) => [
    `// ${name} → ${kit}`,
    `export const reads${i}: (sent: Spec_${name}) => ${kit} = (sent) => sent;`,
    `export const names${i}: Record<Exclude<keyof (${kit}), keyof Spec_${name}>, never> = {};`,
  ].join('\n'));
  return [`import type * as Kit from './miniprogram/wxlogin/index.js';`, declarations(Object.keys(kitTypes)), ...checks].join('\n');
}

describe("the kit's response types", () => {
  it('read every response the spec allows, and name no field it lacks', () => {
    expect(diagnostics(contractSource(KIT_TYPES))).toEqual([]);
  });

  it('are refused when they drift from the spec', () => {
    // A kit type that declares a field the spec does not have, or a nullable one as never null.
    const drifted = diagnostics(contractSource({ Claim: '{ benefit: string; appid: string; claimedAt: string; points: number }', User: "Omit<Kit.User, 'unionid'> & { unionid: string }" }));
    expect(drifted.join('\n')).toMatch(/points/);
    expect(drifted.join('\n')).toMatch(/Type 'null' is not assignable to type 'string'/);
  });
});

describe('the kit as uni-app and Taro projects import it', () => {
  const source = [
    `import auth from './miniprogram/wxlogin/index.js';`,
    `declare const uni: Parameters<typeof auth.configure>[0]['platform'];`,
    `auth.configure({ baseUrl: 'https://api.example.com', platform: uni });`,
    `export const user = auth.me().then((person) => person.phone);`,
    `export const failure: string = new auth.WxLoginError('network_error', '网络不给力').code;`,
  ].join('\n');

  it.each([
    ['node (node10), no esModuleInterop', { module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, esModuleInterop: false }],
    ['bundler', { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler }],
    ['node16', { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16 }],
  ])('a default import type-checks under moduleResolution %s', (_, overrides) => {
    expect(diagnostics(source, overrides)).toEqual([]);
  });
});
