/**
 * An SQLite store: better-sqlite3 under Kysely, WAL, foreign keys and a busy timeout. The SQLite pragmas
 * live here and only here; open.ts chooses between this and open-postgres.ts.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { StoreOpenError } from './errors.ts';
import type { Database } from './schema.ts';

const SQLITE_MAGIC = 'SQLite format 3\0';

/**
 * Transactions start with `begin immediate`: a plain (deferred) `begin` reads first and upgrades to a writer
 * later, and in WAL mode that upgrade fails at once with "database is locked" when another process wrote in
 * between, busy timeout or not (https://sqlite.org/lang_transaction.html). Immediate takes the write lock up
 * front and waits for it, so two processes on one file (a sweep and a resume, a nightly) queue up instead.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class StoreSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

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

export function openSqlite(
  path: string,
  options: { readonly mustExist: boolean; readonly busyTimeoutMs: number },
): Kysely<Database> {
  if (options.mustExist && !existsSync(path)) {
    throw new StoreOpenError(
      `no database at ${path}: expected a file written by \`prunelab sweep --db FILE\`. Check the --db path.`,
      { path },
      { kind: 'input' },
    );
  }
  checkIsSqliteFile(path);
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(path, { fileMustExist: options.mustExist });
    // WAL: readers (export, reports) never block the sweep's writer. synchronous=NORMAL in WAL mode loses
    // no committed transaction when the process is killed, only on power loss (https://sqlite.org/wal.html).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
  } catch (error) {
    throw new StoreOpenError(
      `could not open the database ${path}: ${(error as Error).message}`,
      { path },
      { kind: 'input', cause: error },
    );
  }
  return new Kysely<Database>({ dialect: new StoreSqliteDialect({ database: sqlite }) });
}
