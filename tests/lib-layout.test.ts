// lib/'s rooms stay rooms: each folder imports only the folders its README's `May import:` line
// names, the folders import each other round no circle, and at most four modules sit at the top.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const LIB = new URL('../lib/', import.meta.url).pathname;

/** A module's path relative to lib/ and its source text. */
type Sources = Map<string, string>;

function readLib(dir = LIB, sources: Sources = new Map()): Sources {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) readLib(full, sources);
    else if (name.endsWith('.ts') || name === 'README.md') sources.set(path.relative(LIB, full), readFileSync(full, 'utf8'));
  }
  return sources;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g;

/** What is wrong with a lib/ laid out as `sources`; empty when nothing is. */
function layoutProblems(sources: Sources): string[] {
  const problems: string[] = [];
  const folderOf = (file: string) => (file.includes('/') ? file.split('/')[0]! : null);
  const folders = new Set([...sources.keys()].map(folderOf).filter((folder): folder is string => folder !== null));

  const allowed = new Map<string, Set<string>>();
  for (const folder of folders) {
    const readme = sources.get(`${folder}/README.md`);
    const line = readme?.match(/^May import: (.*)$/m)?.[1];
    if (line === undefined) {
      problems.push(`lib/${folder}/ has no README.md with a "May import:" line`);
      continue;
    }
    const names = line === 'nothing in lib/.' ? [] : line.replace(/\.$/, '').split(/,\s*/);
    for (const name of names) if (!folders.has(name)) problems.push(`lib/${folder}/README.md allows ${name}/, which does not exist`);
    allowed.set(folder, new Set(names));
  }

  const top = [...sources.keys()].filter((file) => !file.includes('/') && file.endsWith('.ts'));
  if (top.length > 4) problems.push(`lib/ has ${top.length} modules at its top (at most 4): ${top.join(', ')}`);

  const edges = new Map<string, Set<string>>();
  for (const [file, source] of sources) {
    if (!file.endsWith('.ts')) continue;
    const from = folderOf(file);
    for (const [, specifier] of source.matchAll(IMPORT)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier!));
      if (target.startsWith('../')) {
        problems.push(`lib/${file} imports ${specifier}, outside lib/`);
        continue;
      }
      const to = folderOf(target);
      if (from === null || to === null || from === to) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      if (allowed.has(from) && !allowed.get(from)!.has(to)) problems.push(`lib/${file} imports ${to}/ (${specifier}); lib/${from}/ may not`);
    }
  }
  for (const [name, graph] of [['imports', edges], ['README rules', allowed]] as const) {
    const cycle = findCycle(graph);
    if (cycle) problems.push(`folders form a circle in their ${name}: ${cycle.join(' → ')}`);
  }
  return problems;
}

function findCycle(graph: Map<string, Set<string>>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (node: string, trail: string[]): string[] | null => {
    if (state.get(node) === 'done') return null;
    if (state.get(node) === 'open') return [...trail.slice(trail.indexOf(node)), node];
    state.set(node, 'open');
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next, [...trail, node]);
      if (cycle) return cycle;
    }
    state.set(node, 'done');
    return null;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node, []);
    if (cycle) return cycle;
  }
  return null;
}

describe("lib/'s layout", () => {
  it('keeps every folder to the imports its README allows, with no circle', () => {
    const sources = readLib();
    expect(layoutProblems(sources)).toEqual([]);
    expect(new Set([...sources.keys()].filter((file) => file.endsWith('/README.md'))).size).toBeGreaterThanOrEqual(4);
  });

  it('lets web/ stand on the domain folders, with nothing in lib/ leaning on it', () => {
    const sources = readLib();
    expect(sources.get('web/README.md')).toMatch(/^May import: platform, wechat, sessions, people\.$/m);
    const leaning = [...sources].filter(([file, source]) => !file.startsWith('web/') && /from '\.\.\/web\//.test(source));
    expect(leaning.map(([file]) => file)).toEqual([]);
  });

  it('finds a forbidden direction, a circle, a missing rule and a crowded top', () => {
    const bad: Sources = new Map([
      ['platform/README.md', 'May import: nothing in lib/.'],
      ['platform/config.ts', "import { x } from '../people/records.js';"],
      ['people/README.md', 'May import: platform.'],
      ['people/records.ts', "import type { y } from '../platform/config.js';\nconst z = await import('../../scripts/dev.js');"],
      ['stray/thing.ts', "export const a = 1;"],
      ...['a', 'b', 'c', 'd', 'e'].map((name) => [`${name}.ts`, ''] as [string, string]),
    ]);
    const problems = layoutProblems(bad).join('\n');
    expect(problems).toMatch(/lib\/platform\/config\.ts imports people\/ .* may not/);
    expect(problems).toMatch(/circle in their imports: (platform → people → platform|people → platform → people)/);
    expect(problems).toMatch(/lib\/stray\/ has no README\.md/);
    expect(problems).toMatch(/5 modules at its top/);
    expect(problems).toMatch(/imports \.\.\/\.\.\/scripts\/dev\.js, outside lib\//);
  });
});
