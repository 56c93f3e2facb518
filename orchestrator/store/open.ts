/**
 * Opening the store: better-sqlite3 under Kysely, WAL, foreign keys, a busy timeout, and the in-code
 * migrations. The SQLite pragmas live here and only here; everything above this file speaks Kysely.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { MigrationError, SchemaTooNewError, StoreOpenError } from './errors.ts';
import { MIGRATIONS, migrationProvider } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type StoreDb = Kysely<Database>;

export interface OpenStoreOptions {
  /** Refuse to create a new file (export, reading commands): a typo must not produce an empty database. */
  readonly mustExist?: boolean;
  /** How long a writer waits for another process's lock before failing. */
  readonly busyTimeoutMs?: number;
}

export interface OpenedStore {
  readonly db: StoreDb;
  readonly path: string;
  close(): Promise<void>;
}

const SQLITE_MAGIC = 'SQLite format 3\0';
const MIGRATION_TABLE = 'kysely_migration';

function checkIsSqliteFile(path: string): void {
  if (!existsSync(path) || statSync(path).size === 0) return;
  const header = Buffer.alloc(SQLITE_MAGIC.length);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_MAGIC) {
    throw new StoreOpenError(
      `${path} is not a prunelab database: expected a SQLite file, found something else. ` +
        'Pass another --db path (a new file is created when it does not exist).',
      { path },
      { kind: 'input' },
    );
  }
}

/** Fails when the database has migrations this code does not know: it was written by a newer prunelab. */
async function refuseNewerSchema(db: StoreDb, path: string): Promise<void> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((table) => table.name === MIGRATION_TABLE)) return;
  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own bookkeeping table is not part of our schema type.
  const rows = await (db as Kysely<any>).selectFrom(MIGRATION_TABLE).select('name').execute();
  const known = Object.keys(MIGRATIONS);
  const unknown = rows.map((row) => String(row.name)).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `${path} was written by a newer prunelab (schema migrations ${unknown.join(', ')}; this version knows ` +
        `up to ${known.at(-1)}). Upgrade prunelab to read it, or pass another --db file; ` +
        'the database is left untouched.',
      { path, unknownMigrations: unknown, knownMigrations: known },
      { kind: 'input' },
    );
  }
}

export async function openStore(path: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const absolute = resolve(path);
  if (options.mustExist === true && !existsSync(absolute)) {
    throw new StoreOpenError(
      `no database at ${absolute}: expected a file written by \`prunelab sweep --db FILE\`. Check the --db path.`,
      { path: absolute },
      { kind: 'input' },
    );
  }
  checkIsSqliteFile(absolute);
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(absolute, { fileMustExist: options.mustExist === true });
    // WAL: readers (export, reports) never block the sweep's writer. synchronous=NORMAL in WAL mode loses
    // no committed transaction when the process is killed, only on power loss (https://sqlite.org/wal.html).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
  } catch (error) {
    throw new StoreOpenError(
      `could not open the database ${absolute}: ${(error as Error).message}`,
      { path: absolute },
      { kind: 'input', cause: error },
    );
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const close = async (): Promise<void> => {
    await db.destroy();
  };
  try {
    await refuseNewerSchema(db, absolute);
    const migrator = new Migrator({ db, provider: migrationProvider, migrationTableName: MIGRATION_TABLE });
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results?.find((result) => result.status === 'Error')?.migrationName;
      throw new MigrationError(
        `could not bring ${absolute} to the current schema${failed === undefined ? '' : ` (migration ${failed})`}: ` +
          `${(error as Error).message ?? String(error)}`,
        failed === undefined ? { path: absolute } : { path: absolute, migration: failed },
        { cause: error },
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { db, path: absolute, close };
}
