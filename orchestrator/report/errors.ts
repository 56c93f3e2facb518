/** Errors of `prunelab report`. */
import { PrunelabError } from '../errors.ts';

/** A --lut or --mapping file that is missing, unreadable or not what it should be. */
export class ReportInputError extends PrunelabError<{ readonly path: string; readonly option: string }> {
  override readonly name = 'ReportInputError';
}

/** A library the page inlines (d3, Observable Plot) or the page script could not be found. */
export class ReportAssetError extends PrunelabError<{
  readonly asset: string;
  readonly tried: readonly string[];
}> {
  override readonly name = 'ReportAssetError';
}

/** The report file could not be written. */
export class ReportWriteError extends PrunelabError<{ readonly path: string }> {
  override readonly name = 'ReportWriteError';
}
