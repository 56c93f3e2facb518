/**
 * Loading a configuration: YAML text (or nothing) + CLI overrides -> validated, deep-frozen PrunelabConfig.
 * Pure: the only file read lives in config/read.ts.
 *
 *   parse YAML (syntax errors -> ConfigError with line and column)
 *   -> merge the overrides into the raw object (flags win over the file)
 *   -> validate the whole thing with one schema (config/schema.ts)
 *   -> locate each issue in the YAML (line, column) or name the flag that supplied it
 *   -> deep-freeze.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLError } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { checkConfig, describeValue, type LocatedIssue, type PrunelabConfig } from './schema.ts';

type OverrideKind = 'list' | 'number-list' | 'number' | 'string' | 'boolean';

/**
 * What a flag of each kind may hold: lists may be arrays or comma-separated text (`"dense,bcr"`, or
 * `["dense,bcr", "pattern"]` from a repeated flag); numbers may be numbers or numeric text.
 */
interface OverrideValueOf {
  readonly list: string | readonly string[];
  readonly 'number-list': string | number | readonly (number | string)[];
  readonly number: number | string;
  readonly string: string;
  readonly boolean: boolean;
}

/** Every path to a field of T, as a tuple of keys (lists are leaves). */
type FieldPath<T> = T extends readonly unknown[]
  ? never
  : T extends object
    ? { [K in keyof T & string]: readonly [K] | readonly [K, ...FieldPath<T[K]>] }[keyof T & string]
    : never;

interface OverrideSpec {
  /** yargs' camel-case name of the flag; the flag is its kebab-case form (`minReps` -> `--min-reps`). */
  readonly key: string;
  /** The field it replaces (the compiler checks that PrunelabConfig has it). */
  readonly configPath: FieldPath<PrunelabConfig>;
  readonly kind: OverrideKind;
  readonly description: string;
}

/**
 * The CLI flags that override a config field, declared once: ConfigOverrides, the flag names and the
 * sweep and fit commands' yargs options all derive from this table, so a new override is one entry here.
 */
const OVERRIDE_SPECS = [
  {
    key: 'models',
    configPath: ['sweep', 'models'],
    kind: 'list',
    description: 'built-in models or .onnx files (paths relative to the working directory)',
  },
  {
    key: 'perLayer',
    configPath: ['sweep', 'perLayer'],
    kind: 'boolean',
    description: 'ONNX models: time every node with its own weights, not one node per shape',
  },
  {
    key: 'schemes',
    configPath: ['sweep', 'schemes'],
    kind: 'list',
    description: 'pruning schemes',
  },
  {
    key: 'blocks',
    configPath: ['sweep', 'blocks'],
    kind: 'list',
    description: 'block sizes BRxBC',
  },
  {
    key: 'sparsities',
    configPath: ['sweep', 'sparsities'],
    kind: 'number-list',
    description: 'fractions of weights removed, in [0, 1)',
  },
  {
    key: 'threads',
    configPath: ['sweep', 'threads'],
    kind: 'number-list',
    description: 'thread counts',
  },
  {
    key: 'backends',
    configPath: ['sweep', 'backends'],
    kind: 'list',
    description: 'where cases run: cpu, gpu (OpenCL)',
  },
  {
    key: 'seed',
    configPath: ['sweep', 'seed'],
    kind: 'number',
    description: 'weight and mask seed',
  },
  {
    key: 'warmup',
    configPath: ['sweep', 'measurement', 'warmup'],
    kind: 'number',
    description: 'untimed runs per case',
  },
  {
    key: 'minReps',
    configPath: ['sweep', 'measurement', 'minReps'],
    kind: 'number',
    description: 'fewest timed repetitions per case',
  },
  {
    key: 'minTimeMs',
    configPath: ['sweep', 'measurement', 'minTimeMs'],
    kind: 'number',
    description: 'least timed ms per case',
  },
  {
    key: 'maxReps',
    configPath: ['sweep', 'measurement', 'maxReps'],
    kind: 'number',
    description: 'cap on timed repetitions per case',
  },
  {
    key: 'maxTimeMs',
    configPath: ['sweep', 'measurement', 'maxTimeMs'],
    kind: 'number',
    description: 'cap on the ms of one case, warm-up included',
  },
  {
    key: 'batchMaxCases',
    configPath: ['sweep', 'batch', 'maxCases'],
    kind: 'number',
    description: 'cases per agent call',
  },
  {
    key: 'batchTargetMs',
    configPath: ['sweep', 'batch', 'targetMs'],
    kind: 'number',
    description: 'estimated ms per agent call',
  },
  {
    key: 'retries',
    configPath: ['scheduler', 'retries'],
    kind: 'number',
    description: 'retries after a transient error',
  },
  {
    key: 'maxConsecutiveFailures',
    configPath: ['scheduler', 'maxConsecutiveFailures'],
    kind: 'number',
    description: 'stop after this many failed cases in a row',
  },
  {
    key: 'caseTimeoutMs',
    configPath: ['scheduler', 'caseTimeoutMs'],
    kind: 'number',
    description: 'kill a case after this many ms',
  },
  { key: 'db', configPath: ['store', 'path'], kind: 'string', description: 'SQLite file or postgres:// URL' },
] as const satisfies readonly OverrideSpec[];

type OverrideSpecs = (typeof OVERRIDE_SPECS)[number];

/**
 * CLI flags that override the file (see OVERRIDE_FLAGS for the flag names). They are merged into the raw
 * config BEFORE validation, so the same schema checks them; an issue on a value from a flag is reported
 * under the flag (`--schemes[1]`, `--min-reps`) and has no line number. Undefined fields are ignored.
 */
export type ConfigOverrides = {
  readonly [Spec in OverrideSpecs as Spec['key']]?: OverrideValueOf[Spec['kind']] | undefined;
};

/** One CLI flag that overrides a config field. The CLI builds its yargs options from this table. */
export interface OverrideFlag extends OverrideSpec {
  readonly key: keyof ConfigOverrides;
  /** The flag as typed, used in error paths: `--min-reps`. */
  readonly flag: string;
}

function flagOf(key: string): string {
  return `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

export const OVERRIDE_FLAGS: readonly OverrideFlag[] = OVERRIDE_SPECS.map((spec) => ({
  ...spec,
  flag: flagOf(spec.key),
}));

const NUMERIC_TEXT = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*$/i;

/** Numeric text becomes a number; anything else is left as is so the schema reports it (`got 'abc'`). */
function toNumberIfNumeric(value: unknown): unknown {
  return typeof value === 'string' && NUMERIC_TEXT.test(value) ? Number(value) : value;
}

function toList(value: unknown): unknown[] {
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) =>
    typeof item === 'string'
      ? item
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== '')
      : [item],
  );
}

function normalise(value: unknown, kind: OverrideKind): unknown {
  switch (kind) {
    case 'list':
      return toList(value);
    case 'number-list':
      return toList(value).map(toNumberIfNumeric);
    case 'number':
      return toNumberIfNumeric(value);
    case 'string':
    case 'boolean':
      return value;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Returns a copy of `raw` with the overrides set, and the map from config path to flag name used to
 * report issues. A section that is not a mapping in the file is left alone (the schema reports it).
 */
export function applyOverrides(
  raw: unknown,
  overrides: ConfigOverrides,
): { readonly raw: unknown; readonly flagPaths: ReadonlyMap<string, string> } {
  const merged: unknown = raw === null || raw === undefined ? {} : structuredClone(raw);
  const flagPaths = new Map<string, string>();
  if (!isRecord(merged)) return { raw: merged, flagPaths };
  for (const { key, flag, configPath, kind } of OVERRIDE_FLAGS) {
    const value = overrides[key];
    if (value === undefined) continue;
    let parent: Record<string, unknown> | undefined = merged;
    for (const part of configPath.slice(0, -1)) {
      const child: unknown = parent[part] ?? {};
      if (!isRecord(child)) {
        parent = undefined;
        break;
      }
      parent[part] = child;
      parent = child;
    }
    const leaf = configPath.at(-1);
    if (parent === undefined || leaf === undefined) continue;
    parent[leaf] = normalise(value, kind);
    flagPaths.set(configPath.join('.'), flag);
  }
  return { raw: merged, flagPaths };
}

/** Freezes an object graph in place (configs are small trees of plain data). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** `Flow sequence ... at line 3, column 3:\n\n<code frame>` -> `Flow sequence ...` (the position is kept apart). */
function yamlErrorSummary(error: YAMLError): string {
  const firstLine = error.message.split('\n')[0] ?? error.message;
  return firstLine.replace(/ at line \d+, column \d+:?$/, '');
}

function syntaxIssue(error: YAMLError): ConfigIssue {
  const position = error.linePos?.[0];
  return {
    path: '',
    expected: 'valid YAML',
    found: `${yamlErrorSummary(error)} (${error.code})`,
    ...(position === undefined ? {} : { line: position.line, column: position.col }),
  };
}

/** Adds the YAML node's line and column to an issue about a value that came from the file. */
function locate(
  issue: LocatedIssue,
  document: ReturnType<typeof parseDocument>,
  lines: LineCounter,
): ConfigIssue {
  const { rawPath, fromFlag, ...plain } = issue;
  if (fromFlag) return plain;
  let node: unknown = document.contents;
  for (const part of rawPath) {
    if (isMap(node) || isSeq(node)) node = node.get(part, true);
    else {
      node = undefined;
      break;
    }
  }
  const offset = (node as Node | undefined)?.range?.[0];
  if (offset === undefined) return plain;
  const position = lines.linePos(offset);
  // YAML reads some plain text as numbers (`0x4` is 4, `1.50` is 1.5): show what was written as well.
  const scalar = isScalar(node) ? node : undefined;
  const written = scalar !== undefined && typeof scalar.value !== 'string' ? scalar.source : undefined;
  const found =
    written !== undefined && written !== String(scalar?.value) && !issue.found.startsWith('an unknown field')
      ? `'${written}' (YAML reads it as ${describeValue(scalar?.value)})`
      : plain.found;
  return { ...plain, found, line: position.line, column: position.col };
}

/**
 * `text` undefined means "no config file": the embedded defaults (config/defaults.ts) are used, with the
 * overrides on top. `sourceName` names the origin in messages (a path, or `defaults`).
 * Throws ConfigError listing every problem; the result is deep-frozen.
 */
export function loadConfig(
  text: string | undefined,
  sourceName: string,
  overrides: ConfigOverrides = {},
): PrunelabConfig {
  const lines = new LineCounter();
  const document = parseDocument(text ?? '', { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(sourceName, document.errors.map(syntaxIssue), { cause: document.errors[0] });
  }
  const parsed: unknown = document.toJS();
  const { raw, flagPaths } = applyOverrides(parsed, overrides);
  const result = checkConfig(raw, flagPaths);
  if (!result.ok) {
    throw new ConfigError(
      sourceName,
      result.issues.map((issue) => locate(issue, document, lines)),
      { cause: result.cause },
    );
  }
  // A copy, so that freezing never reaches the shared default objects the schema filled in.
  return deepFreeze(structuredClone(result.config));
}
