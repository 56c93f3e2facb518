/**
 * The one error base of prunelab, and the errors of the config area. config/ is the lowest layer and imports
 * nothing of ours, so the base lives here and every layer (cost-model/, reports/, orchestrator/) extends it.
 * One typed error (ConfigError) for every way a configuration can be wrong, carrying every problem found
 * (not just the first), so a user fixes the whole file in one pass.
 */

/**
 * What the CLI's single top-level handler makes of an error: `input` = the user can fix it by changing
 * what they gave (flags, a config or LUT file, a query): exit code 2; `failure` = something failed while
 * doing the work: exit code 1; `lab` = the device lab itself is in trouble (devices missing, too many
 * failures, a phone too hot or too noisy to trust): exit code 3.
 */
export type ErrorKind = 'input' | 'failure' | 'lab';

/**
 * The base of every prunelab error. Each area has its own errors.ts with named subclasses; this base only
 * fixes the shape the CLI's handler relies on: a name, the data that explains the failure, its kind, and
 * the original error as `cause`.
 */
export class PrunelabError<Data extends object = Record<string, unknown>> extends Error {
  override readonly name: string = 'PrunelabError';
  readonly data: Data;
  readonly kind: ErrorKind;

  constructor(message: string, data: Data, options: { kind?: ErrorKind; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.data = data;
    this.kind = options.kind ?? 'failure';
  }
}

/** One problem in a configuration, addressed by its field path. */
export interface ConfigIssue {
  /** Where the bad value is: `sweep.blocks[2]` for the file, `--blocks[2]` for a CLI flag, `` for the root. */
  readonly path: string;
  /** What was expected, in words: `a block size BRxBC such as 8x4`, `one of dense, bcr`. */
  readonly expected: string;
  /** What was found, quoted when it is a string: `'8by4'`, `1.2`, `nothing`. */
  readonly found: string;
  /** The valid choices when the field is an enumeration (schemes, models, known fields). */
  readonly choices?: readonly string[];
  /** The closest valid choice when the value looks like a typo of one. */
  readonly suggestion?: string;
  /** 1-based position in the YAML text, when the issue comes from the parser or the node is known. */
  readonly line?: number;
  readonly column?: number;
}

export function formatIssue(issue: ConfigIssue): string {
  const position = issue.line === undefined ? undefined : `line ${issue.line}, column ${issue.column ?? 1}`;
  const where =
    issue.path === ''
      ? (position ?? '(top level)')
      : position === undefined
        ? issue.path
        : `${issue.path} (${position})`;
  const hint = issue.suggestion === undefined ? '' : ` (did you mean '${issue.suggestion}'?)`;
  return `${where}: expected ${issue.expected}; got ${issue.found}${hint}`;
}

/** A configuration that cannot be used (always `input`: exit code 2); data = { source, issues }. */
export class ConfigError extends PrunelabError<{
  readonly source: string;
  readonly issues: readonly ConfigIssue[];
}> {
  override readonly name = 'ConfigError';
  /** The file the configuration came from, or `defaults` / `flags` when there was no file. */
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    const lines = issues.map((issue) => `  ${formatIssue(issue)}`);
    super(
      `invalid configuration in ${source}: ${count}\n${lines.join('\n')}\n` +
        'See config/README.md for the format (or run without --config to use the embedded default sweep).',
      { source, issues },
      { kind: 'input', ...options },
    );
    this.source = source;
    this.issues = issues;
  }
}
