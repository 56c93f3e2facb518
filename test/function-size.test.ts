/**
 * The house rule "the largest function under 150 lines outside tests": every function declaration,
 * method, accessor, constructor, function expression and arrow function in a non-test `.ts` file of ours is
 * measured from its first line to its last (signature, body and closing brace, comments inside included),
 * with the TypeScript compiler's own parser so nothing is guessed from indentation. `.js` files are not
 * measured.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const MAX_FUNCTION_LINES = 150;
const SKIPPED_DIRS = new Set(['node_modules', 'dist', 'build', '.git', 'test-artifacts', 'test']);

/** The functions still allowed past the limit, each with why. */
const ALLOWED = new Set([
  // Migrations are frozen once landed (never edited; the next one is 0002_...): its table definitions stay
  // as they shipped.
  'orchestrator/store/migrations/0001_initial.ts up',
]);

interface FunctionSize {
  readonly file: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(path);
    const measured =
      entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts');
    return measured ? [path] : [];
  });
}

/** The name a reader would search for: the declaration's own, or the variable or property it is bound to. */
function nameOf(node: ts.FunctionLikeDeclaration): string {
  if (node.name !== undefined) return node.name.getText();
  const parent = node.parent;
  if ((ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)) && parent.name !== undefined)
    return parent.name.getText();
  return '(anonymous)';
}

export function measureFunctions(file: string, text: string): FunctionSize[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const sizes: FunctionSize[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const fn = node as ts.FunctionLikeDeclaration;
      const first = source.getLineAndCharacterOfPosition(fn.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(fn.getEnd()).line;
      sizes.push({ file, line: first + 1, name: nameOf(fn), lines: last - first + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sizes;
}

test('the measure counts a function from its first line to its last, nested ones too', () => {
  const text = [
    'export function outer(a: number): number {',
    '  const inner = (b: number) => {',
    '    return b + 1;',
    '  };',
    '  return inner(a);',
    '}',
    'class K { method() { return 1; } }',
  ].join('\n');
  assert.deepEqual(
    measureFunctions('x.ts', text).map((f) => `${f.name}@${f.line}:${f.lines}`),
    ['outer@1:6', 'inner@2:3', 'method@7:1'],
  );
});

test(`no function outside tests is ${MAX_FUNCTION_LINES} lines or longer`, () => {
  const files = sourceFiles(root);
  assert.ok(files.length > 50, `expected the repository's .ts files, found ${files.length} under ${root}`);
  const tooLong = files
    .flatMap((path) => measureFunctions(relative(root, path), readFileSync(path, 'utf8')))
    .filter((f) => f.lines >= MAX_FUNCTION_LINES && !ALLOWED.has(`${f.file} ${f.name}`))
    .sort((a, b) => b.lines - a.lines)
    .map((f) => `${f.file}:${f.line} ${f.name} (${f.lines} lines)`);
  assert.deepEqual(
    tooLong,
    [],
    `split these functions below ${MAX_FUNCTION_LINES} lines:\n${tooLong.join('\n')}`,
  );
});
