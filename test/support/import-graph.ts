/**
 * The repository's dependency graphs, read from source: which of our TypeScript files import which (with
 * whether an arrow is type-only), and which C files of the agent `#include` which of our headers. Used by
 * `test/architecture.test.ts` to keep the layering one way and free of circles.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** One arrow of the graph: `from` imports `to` (both paths relative to the repository root, `/`-separated). */
export interface ImportEdge {
  from: string;
  to: string;
  /** As written in the source, for failure messages. */
  specifier: string;
  /** `import type`, `export type`, `import { type A }` only, or `typeof import('…')`: erased at run time. */
  typeOnly: boolean;
}

const SKIPPED_FOLDERS = new Set(['node_modules', 'dist', 'build', '.git', 'test-artifacts']);

/** Every file under `dir` (relative to `root`) whose name ends with one of `extensions`, sorted. */
export function listFiles(root: string, dir: string, extensions: readonly string[]): string[] {
  const walk = (path: string): string[] =>
    readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
      const child = join(path, entry.name);
      if (entry.isDirectory()) return SKIPPED_FOLDERS.has(entry.name) ? [] : walk(child);
      return extensions.some((ext) => entry.name.endsWith(ext)) ? [toPosix(relative(root, child))] : [];
    });
  return walk(join(root, dir)).sort();
}

function toPosix(path: string): string {
  return path.split('\\').join('/');
}

/** Import specifiers of one TypeScript source, static and dynamic, with their type-only flag. */
export function importsOf(sourceText: string, fileName: string): { specifier: string; typeOnly: boolean }[] {
  const source = ts.createSourceFile(fileName, sourceText, ts.ScriptTarget.Latest, false);
  const found: { specifier: string; typeOnly: boolean }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: isTypeOnlyImport(node) });
    } else if (
      ts.isExportDeclaration(node) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push({ specifier: node.moduleSpecifier.text, typeOnly: isTypeOnlyExport(node) });
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      found.push({ specifier: node.arguments[0].text, typeOnly: false });
    } else if (
      ts.isImportTypeNode(node) &&
      ts.isLiteralTypeNode(node.argument) &&
      ts.isStringLiteral(node.argument.literal)
    ) {
      found.push({ specifier: node.argument.literal.text, typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function isTypeOnlyImport(node: ts.ImportDeclaration): boolean {
  const clause = node.importClause;
  if (clause === undefined) return false; // `import './x.ts'` runs the module
  if (clause.isTypeOnly) return true;
  if (clause.name !== undefined) return false;
  const bindings = clause.namedBindings;
  if (bindings === undefined || !ts.isNamedImports(bindings)) return false;
  // `import {} from './x.ts'` is kept under verbatimModuleSyntax (it runs the module): not type-only.
  return bindings.elements.length > 0 && bindings.elements.every((element) => element.isTypeOnly);
}

function isTypeOnlyExport(node: ts.ExportDeclaration): boolean {
  if (node.isTypeOnly) return true;
  const clause = node.exportClause;
  if (clause === undefined || !ts.isNamedExports(clause)) return false;
  return clause.elements.length > 0 && clause.elements.every((element) => element.isTypeOnly);
}

/**
 * The import graph among our TypeScript (and JavaScript) files under `folders`: arrows to packages are
 * left out, relative specifiers are resolved against the importing file.
 */
export function typescriptImportGraph(root: string, folders: readonly string[]): ImportEdge[] {
  const files = folders.flatMap((folder) => listFiles(root, folder, ['.ts', '.mts', '.js', '.mjs']));
  return files.flatMap((from) =>
    importsOf(readFileSync(join(root, from), 'utf8'), from)
      .filter(({ specifier }) => specifier.startsWith('.'))
      .map(({ specifier, typeOnly }) => ({
        from,
        to: toPosix(relative(root, resolve(root, dirname(from), specifier))),
        specifier,
        typeOnly,
      })),
  );
}

/** The `#include "…"` graph among the C sources and headers under `dir` (system `<…>` includes left out). */
export function cIncludeGraph(root: string, dir: string): ImportEdge[] {
  const files = listFiles(root, dir, ['.c', '.h']);
  const known = new Set(files);
  return files.flatMap((from) => {
    const text = readFileSync(join(root, from), 'utf8');
    return [...text.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].flatMap((match) => {
      const specifier = match[1] ?? '';
      const to = toPosix(relative(root, resolve(root, dirname(from), specifier)));
      return known.has(to) ? [{ from, to, specifier, typeOnly: false }] : [];
    });
  });
}

/**
 * Every elementary circle's representative among `edges`, as a path `a -> b -> … -> a`: one per strongly
 * connected component of more than one file (or a file that imports itself), the shortest circle through
 * its first file, so a failure names a concrete path to cut.
 */
export function findCycles(edges: readonly { from: string; to: string }[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const { from, to } of edges) {
    const targets = next.get(from) ?? new Set<string>();
    targets.add(to);
    next.set(from, targets);
  }
  const cycles: string[][] = [];
  for (const component of stronglyConnected(next)) {
    const start = [...component].sort()[0];
    if (start === undefined) continue;
    const selfLoop = next.get(start)?.has(start) ?? false;
    if (component.size === 1 && !selfLoop) continue;
    cycles.push(shortestCircle(next, start, component));
  }
  return cycles;
}

/** Tarjan's algorithm, iterative so a deep graph cannot overflow the stack. */
function stronglyConnected(next: Map<string, Set<string>>): Set<string>[] {
  const nodes = new Set<string>([...next.keys(), ...[...next.values()].flatMap((targets) => [...targets])]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: Set<string>[] = [];
  let counter = 0;
  for (const root of [...nodes].sort()) {
    if (index.has(root)) continue;
    const work: { node: string; targets: string[]; position: number }[] = [];
    const open = (node: string): void => {
      index.set(node, counter);
      low.set(node, counter);
      counter += 1;
      stack.push(node);
      onStack.add(node);
      work.push({ node, targets: [...(next.get(node) ?? [])].sort(), position: 0 });
    };
    open(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      if (frame === undefined) break;
      const target = frame.targets[frame.position];
      if (target !== undefined) {
        frame.position += 1;
        if (!index.has(target)) open(target);
        else if (onStack.has(target))
          low.set(frame.node, Math.min(low.get(frame.node) ?? 0, index.get(target) ?? 0));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent !== undefined)
        low.set(parent.node, Math.min(low.get(parent.node) ?? 0, low.get(frame.node) ?? 0));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = new Set<string>();
        let member: string | undefined;
        do {
          member = stack.pop();
          if (member === undefined) break;
          onStack.delete(member);
          component.add(member);
        } while (member !== frame.node);
        components.push(component);
      }
    }
  }
  return components;
}

/** Breadth-first from `start` inside `component` back to `start`: the shortest circle through it. */
function shortestCircle(next: Map<string, Set<string>>, start: string, component: Set<string>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift() ?? start;
    for (const target of [...(next.get(node) ?? [])].sort()) {
      if (!component.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== undefined && at !== start; at = cameFrom.get(at))
          path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

const NOT_SYMBOLS = new Set([
  'void',
  'int',
  'char',
  'long',
  'float',
  'double',
  'unsigned',
  'signed',
  'const',
  'static',
  'inline',
  'return',
  'sizeof',
  'if',
  'while',
  'for',
  'switch',
]);

/** C source without comments and string or character literals, so only code is searched for names. */
function cCode(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, ' ');
}

/**
 * Which agent modules use which others' functions and globals: module `a` (a.c with a.h) -> `b` when a.c
 * names a function or `extern` variable that b.h declares. Reads prototypes with a regex, which is enough for
 * this code base's one-declaration-per-statement headers; a circle here means two .c files call each other.
 */
export function cSymbolGraph(root: string, dir: string): ImportEdge[] {
  const moduleOf = (path: string): string => path.replace(/\.[ch]$/, '');
  const declaredBy = new Map<string, string>();
  for (const header of listFiles(root, dir, ['.h'])) {
    const code = cCode(readFileSync(join(root, header), 'utf8'));
    const prototypes = code.matchAll(/^[A-Za-z_][\w \t*]*?\b([A-Za-z_]\w*)\s*\([^;{}]*\)\s*;/gm);
    const externs = code.matchAll(/^extern\b[^;(]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*;/gm);
    for (const match of [...prototypes, ...externs]) {
      const name = match[1];
      // `typedef void (*fn)(…);` and `__attribute__((…))` look like prototypes to the regex; neither is a symbol.
      if (
        name === undefined ||
        NOT_SYMBOLS.has(name) ||
        name.startsWith('__') ||
        match[0].startsWith('typedef')
      )
        continue;
      declaredBy.set(name, moduleOf(header));
    }
  }
  return listFiles(root, dir, ['.c']).flatMap((source) => {
    const from = moduleOf(source);
    const used = new Set(cCode(readFileSync(join(root, source), 'utf8')).match(/\b[A-Za-z_]\w*\b/g) ?? []);
    const targets = new Map<string, string>();
    for (const name of used) {
      const to = declaredBy.get(name);
      if (to !== undefined && to !== from && !targets.has(to)) targets.set(to, name);
    }
    return [...targets].map(([to, name]) => ({ from, to, specifier: name, typeOnly: false }));
  });
}
