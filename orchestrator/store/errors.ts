/** Errors of the result store. */
import { PrunelabError } from '../errors.ts';

/** The database was written by a newer prunelab: this version refuses it rather than guess (no down-migration). */
export class SchemaTooNewError extends PrunelabError<{
  readonly path: string;
  readonly unknownMigrations: readonly string[];
  readonly knownMigrations: readonly string[];
}> {
  override readonly name = 'SchemaTooNewError';
}

/** The file is not a SQLite database, or cannot be opened. */
export class StoreOpenError extends PrunelabError<{ readonly path: string }> {
  override readonly name = 'StoreOpenError';
}

export class MigrationError extends PrunelabError<{ readonly path: string; readonly migration?: string }> {
  override readonly name = 'MigrationError';
}

/** A run asked for by id (or "the latest") does not exist in the store. */
export class RunNotFoundError extends PrunelabError<{ readonly path: string; readonly runId?: string }> {
  override readonly name = 'RunNotFoundError';
}
