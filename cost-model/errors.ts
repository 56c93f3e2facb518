/**
 * Errors of the cost model. They extend prunelab's one error base (config/errors.ts: name, data, kind,
 * cause), so the CLI's top-level handler reports them like any other.
 */
import { PrunelabError } from '../config/errors.ts';
import type { FamilyKey } from './types.ts';

export type CostModelErrorKind = 'input' | 'failure';

export class CostModelError<Data extends object = Record<string, unknown>> extends PrunelabError<Data> {
  override readonly name: string = 'CostModelError';

  /** `kind` defaults to `input`: the user can fix it by changing what they gave (a file, a query). */
  constructor(message: string, data: Data, options: { kind?: CostModelErrorKind; cause?: unknown } = {}) {
    super(message, data, {
      kind: options.kind ?? 'input',
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
  }
}

/** One problem in a LUT file or in the measured points, addressed like `lut.entries[3].curve.knots[0]`. */
export interface CostModelIssue {
  readonly path: string;
  readonly message: string;
}

function listIssues(issues: readonly CostModelIssue[], limit = 12): string {
  const shown = issues.slice(0, limit).map((issue) => `  ${issue.path}: ${issue.message}`);
  if (issues.length > limit) shown.push(`  ... and ${issues.length - limit} more`);
  return shown.join('\n');
}

/** A LUT file that does not match `cost-model/lut.schema.json` (or breaks an invariant the schema cannot say). */
export class LutFormatError extends CostModelError<{
  readonly source: string;
  readonly issues: readonly CostModelIssue[];
}> {
  override readonly name = 'LutFormatError';

  constructor(source: string, issues: readonly CostModelIssue[], options: { cause?: unknown } = {}) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(
      `invalid LUT in ${source}: ${count}\n${listIssues(issues)}\n` +
        'The format is cost-model/lut.schema.json; regenerate the file with `prunelab fit`.',
      { source, issues },
      options,
    );
  }
}

/** A LUT written for another schema version than the one this build reads. */
export class LutVersionError extends CostModelError<{
  readonly source: string;
  readonly found: string;
  readonly supported: string;
}> {
  override readonly name = 'LutVersionError';

  constructor(source: string, found: string, supported: string) {
    super(
      `LUT ${source} has schema ${JSON.stringify(found)}; this build reads only ${JSON.stringify(supported)}. ` +
        'Refit it from the store with `prunelab fit` (the measurements are kept), or use the prunelab ' +
        'version that wrote it.',
      { source, found, supported },
    );
  }
}

/** Measured points that cannot make one LUT (mixed devices or agent builds, impossible values). */
export class FitInputError extends CostModelError<{ readonly issues: readonly CostModelIssue[] }> {
  override readonly name = 'FitInputError';

  constructor(issues: readonly CostModelIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    super(`cannot fit a LUT from these measurements: ${count}\n${listIssues(issues)}`, { issues });
  }
}

export type LookupFailure =
  | 'bad-query'
  | 'threads-not-measured'
  | 'family-not-measured'
  | 'too-few-shapes'
  | 'density-out-of-range';

export interface LookupQuery {
  readonly shapeKey: string;
  readonly scheme: string;
  readonly block: string | null;
  readonly density: number;
  readonly threads: number;
}

/** The LUT has nothing to answer a query with; the message says what to measure. */
export class LutLookupError extends CostModelError<{
  readonly reason: LookupFailure;
  readonly query: LookupQuery;
  readonly family: FamilyKey | null;
}> {
  override readonly name = 'LutLookupError';

  constructor(
    reason: LookupFailure,
    message: string,
    query: LookupQuery,
    family: FamilyKey | null,
    options: { cause?: unknown } = {},
  ) {
    super(message, { reason, query, family }, options);
  }
}
