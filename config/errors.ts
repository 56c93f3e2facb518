/**
 * Errors of the config area. One typed error for every way a configuration can be wrong, carrying every
 * problem found (not just the first), so a user fixes the whole file in one pass.
 */

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

export class ConfigError extends Error {
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
      options,
    );
    this.source = source;
    this.issues = issues;
  }
}
