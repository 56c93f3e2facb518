/**
 * Opening the store, on either dialect: an SQLite file (open-sqlite.ts) or a PostgreSQL database
 * (open-postgres.ts), chosen here and only here from the `--db` text (location.ts); then the same in-code
 * migrations on both. Everything above this file speaks Kysely's builder, never a dialect.
 */
import { type Kysely, Migrator } from 'kysely';
import { MigrationError, SchemaTooNewError, StoreOpenError } from './errors.ts';
import { parseStoreLocation, type StoreLocation, storeName } from './location.ts';
import type { StoreDialect } from './migrations/column-types.ts';
import { MIGRATION_NAMES, migrationProvider } from './migrations/index.ts';
import { openPostgres } from './open-postgres.ts';
import { openSqlite } from './open-sqlite.ts';
import type { Database } from './schema.ts';

export type StoreDb = Kysely<Database>;

export interface OpenStoreOptions {
  /** Refuse to create a new store (export, reading commands): a typo must not produce an empty database. */
  readonly mustExist?: boolean;
  /** SQLite: how long a writer waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number;
  /** PostgreSQL: end a session idle inside a transaction this long (open-postgres.ts; a worker's lease). */
  readonly idleInTransactionMs?: number;
}

export interface OpenedStore {
  readonly db: StoreDb;
  /** The store as the user names it: the absolute SQLite file, or the PostgreSQL URL without password. */
  readonly path: string;
  readonly dialect: StoreDialect;
  close(): Promise<void>;
}

const MIGRATION_TABLE = 'kysely_migration';

async function hasMigrationTable(db: StoreDb): Promise<boolean> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  return tables.some((table) => table.name === MIGRATION_TABLE);
}

/** Fails when the database has migrations this code does not know: it was written by a newer prunelab. */
async function refuseNewerSchema(db: StoreDb, name: string): Promise<void> {
  if (!(await hasMigrationTable(db))) return;
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own bookkeeping table is not part of our schema type.
  const rows = await (db as Kysely<any>).selectFrom(MIGRATION_TABLE).select('name').execute();
  const unknown = rows
    .map((row) => String(row.name))
    .filter((migration) => !MIGRATION_NAMES.includes(migration));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `${name} was written by a newer prunelab (schema migrations ${unknown.join(', ')}; this version knows ` +
        `up to ${MIGRATION_NAMES.at(-1)}). Upgrade prunelab to read it, or pass another --db; ` +
        'the database is left untouched.',
      { path: name, unknownMigrations: unknown, knownMigrations: MIGRATION_NAMES },
      { kind: 'input' },
    );
  }
}

/** A PostgreSQL database always exists before prunelab sees it; "must exist" means it holds a store. */
async function requireStoreTables(db: StoreDb, name: string): Promise<void> {
  if (await hasMigrationTable(db)) return;
  throw new StoreOpenError(
    `no prunelab store in ${name}: expected a database written by \`prunelab sweep --db URL\`. Check the --db URL.`,
    { path: name },
    { kind: 'input' },
  );
}

async function migrate(db: StoreDb, dialect: StoreDialect, name: string): Promise<void> {
  // On PostgreSQL, Kysely's Migrator holds an advisory lock, so two hosts starting at once migrate once.
  const migrator = new Migrator({
    db,
    provider: migrationProvider(dialect),
    migrationTableName: MIGRATION_TABLE,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error')?.migrationName;
  throw new MigrationError(
    `could not bring ${name} to the current schema${failed === undefined ? '' : ` (migration ${failed})`}: ` +
      `${(error as Error).message ?? String(error)}`,
    failed === undefined ? { path: name } : { path: name, migration: failed },
    { cause: error },
  );
}

async function connect(location: StoreLocation, options: OpenStoreOptions): Promise<StoreDb> {
  if (location.kind === 'postgres') {
    return openPostgres(
      location,
      options.idleInTransactionMs === undefined ? {} : { idleInTransactionMs: options.idleInTransactionMs },
    );
  }
  return openSqlite(location.path, {
    mustExist: options.mustExist === true,
    busyTimeoutMs: options.busyTimeoutMs ?? 10_000,
  });
}

/** Opens (and migrates) the store that `--db` names: a file path or a postgres:// URL. */
export async function openStore(dbText: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const location = parseStoreLocation(dbText);
  const name = storeName(location);
  const db = await connect(location, options);
  const close = async (): Promise<void> => {
    await db.destroy();
  };
  try {
    if (location.kind === 'postgres' && options.mustExist === true) await requireStoreTables(db, name);
    await refuseNewerSchema(db, name);
    await migrate(db, location.kind, name);
  } catch (error) {
    await close();
    throw error;
  }
  return { db, path: name, dialect: location.kind, close };
}
