/**
 * The layering, checked on the source (README.md, "Layout"): data flows one way, config -> cost model ->
 * orchestrator (with reports beside the cost model), and no file depends on itself through others. Each rule
 * is a predicate over the import graph's arrows; a failure names the file, the import as written, and what the
 * rule allows. Test files obey the same direction as the folder they sit in (a `config/` test that needs the
 * planner belongs with the planner).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  cIncludeGraph,
  cSymbolGraph,
  findCycles,
  type ImportEdge,
  importsOf,
  typescriptImportGraph,
} from './support/import-graph.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const OUR_FOLDERS = ['config', 'cost-model', 'device-agent', 'orchestrator', 'reports', 'test'];
const edges = typescriptImportGraph(root, OUR_FOLDERS);

/** The cost model's public entry: the one file of `cost-model/` the orchestrator may import. */
const COST_MODEL_ENTRY = 'cost-model/index.ts';

const within = (path: string, folder: string): boolean => path.startsWith(`${folder}/`);
const isTest = (path: string): boolean => path.endsWith('.test.ts');
/** Literal fixtures of the cost model's own tests (stated formulas, never measured figures). */
const isCostModelFixture = (path: string): boolean =>
  within(path, 'cost-model') && path.endsWith('/test-support.ts');

function describe(edge: ImportEdge): string {
  return `${edge.from} imports '${edge.specifier}'${edge.typeOnly ? ' (type only)' : ''} -> ${edge.to}`;
}

/** The arrows leaving `folder` that `allowed` refuses, one line each. */
function violations(folder: string, allowed: (edge: ImportEdge) => boolean): string[] {
  return edges.filter((edge) => within(edge.from, folder) && !allowed(edge)).map(describe);
}

function assertNone(found: string[], rule: string): void {
  assert.deepEqual(found, [], `${rule}; found ${found.length}:\n  ${found.join('\n  ')}`);
}

test('the import graph is read: every layer has files and arrows', () => {
  // Guards the rules below against passing on an empty or misread graph.
  for (const folder of OUR_FOLDERS)
    assert.ok(
      edges.some((edge) => within(edge.from, folder)),
      `expected imports from ${folder}/ in the graph, found none (is the folder list in test/architecture.test.ts right?)`,
    );
  assert.ok(edges.some((edge) => edge.typeOnly) && edges.some((edge) => !edge.typeOnly));
});

test('the reader sees static, type-only, re-exported and dynamic imports', () => {
  const found = importsOf(
    [
      "import a from './a.ts';",
      "import type { B } from './b.ts';",
      "import { type C } from './c.ts';",
      "import { type D, e } from './d.ts';",
      "export { f } from './f.ts';",
      "export type { G } from './g.ts';",
      "export * from './h.ts';",
      "import './i.ts';",
      "const j = await import('./j.ts');",
      "let k: typeof import('./k.ts');",
    ].join('\n'),
    'sample.ts',
  );
  assert.deepEqual(
    found.map(({ specifier, typeOnly }) => `${specifier}${typeOnly ? ' type' : ''}`),
    [
      './a.ts',
      './b.ts type',
      './c.ts type',
      './d.ts',
      './f.ts',
      './g.ts type',
      './h.ts',
      './i.ts',
      './j.ts',
      './k.ts type',
    ],
  );
});

test('config/ imports nothing of ours outside config/', () => {
  assertNone(
    violations('config', (edge) => within(edge.to, 'config')),
    'config/ is the vocabulary every layer shares: it may import only config/',
  );
});

test('cost-model/ imports only config/ and itself', () => {
  assertNone(
    violations('cost-model', (edge) => within(edge.to, 'config') || within(edge.to, 'cost-model')),
    'cost-model/ is pure (arrays in, JSON out): it may import only config/ and cost-model/; I/O edges such as its benchmarks belong in orchestrator/',
  );
});

test('reports/ imports only config/, itself, and cost-model types through cost-model/index.ts', () => {
  assertNone(
    violations(
      'reports',
      (edge) =>
        within(edge.to, 'config') ||
        within(edge.to, 'reports') ||
        (edge.typeOnly && edge.to === COST_MODEL_ENTRY),
    ),
    `reports/ renders data it is given: it may import config/, reports/, and only types from ${COST_MODEL_ENTRY}`,
  );
});

test('device-agent/virtual imports only config/ and itself', () => {
  assertNone(
    violations(
      'device-agent/virtual',
      (edge) => within(edge.to, 'config') || within(edge.to, 'device-agent/virtual'),
    ),
    'the virtual phone stands in for a phone: it may import only config/ and device-agent/virtual/',
  );
});

test(`orchestrator/ reaches cost-model/ only through ${COST_MODEL_ENTRY}`, () => {
  assertNone(
    violations(
      'orchestrator',
      (edge) =>
        !within(edge.to, 'cost-model') ||
        edge.to === COST_MODEL_ENTRY ||
        (isTest(edge.from) && isCostModelFixture(edge.to)),
    ),
    `the orchestrator may import from cost-model/ only ${COST_MODEL_ENTRY} (its tests also cost-model's test-support.ts fixtures); export what it needs from there`,
  );
});

test('no file of ours reaches itself through its imports', () => {
  const cycles = findCycles(edges);
  assert.deepEqual(
    cycles,
    [],
    `import circles (break each by moving what both sides need into a third file):\n  ${cycles.map((cycle) => cycle.join(' -> ')).join('\n  ')}`,
  );
});

test('the agent: no circle among its C modules (a .c file and its .h taken as one)', () => {
  const includes = cIncludeGraph(root, 'device-agent/src');
  assert.ok(includes.length > 20, `expected the agent's #include graph, found ${includes.length} arrows`);
  // x.c including x.h is the module's own header, not an arrow between modules.
  const moduleOf = (path: string): string => path.replace(/\.[ch]$/, '');
  const arrows = includes
    .map((edge) => ({ from: moduleOf(edge.from), to: moduleOf(edge.to) }))
    .filter((edge) => edge.from !== edge.to);
  const cycles = findCycles(arrows);
  assert.deepEqual(
    cycles,
    [],
    `circles among the agent's modules (each includes, so calls, the other; move what both need into its own module):\n  ${cycles.map((cycle) => cycle.join(' -> ')).join('\n  ')}`,
  );
});

test("the agent: no two C modules call each other's functions, directly or round a circle", () => {
  const uses = cSymbolGraph(root, 'device-agent/src');
  assert.ok(
    uses.some((edge) => edge.from.endsWith('/run') && edge.to.endsWith('/layer')),
    'expected run.c -> layer.h (layer_run) among the symbol arrows: is the prototype reader still right?',
  );
  const cycles = findCycles(uses);
  const named = cycles.map((cycle) =>
    cycle
      .slice(0, -1)
      .map((from, i) => {
        const to = cycle[i + 1];
        const via = uses.find((edge) => edge.from === from && edge.to === to)?.specifier;
        return `${from}.c uses ${via} of ${to}.h`;
      })
      .join(', '),
  );
  assert.deepEqual(
    named,
    [],
    `C modules that call each other (move what both need into its own module):\n  ${named.join('\n  ')}`,
  );
});

test('the circle finder names the path of a circle and ignores a chain', () => {
  assert.deepEqual(
    findCycles([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
      { from: 'c', to: 'a' },
      { from: 'c', to: 'd' },
    ]),
    [['a', 'b', 'c', 'a']],
  );
  assert.deepEqual(
    findCycles([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'c' },
    ]),
    [],
  );
  assert.deepEqual(findCycles([{ from: 'a', to: 'a' }]), [['a', 'a']]);
});
