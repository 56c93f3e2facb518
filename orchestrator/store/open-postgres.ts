/**
 * A PostgreSQL store: Kysely's PostgresDialect over a `pg` pool. Connects once before anything else so a
 * wrong URL, a refused password, a missing database or a server that is down fail at start with a message
 * that says how to fix it. open.ts chooses between this and open-sqlite.ts.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import { StoreOpenError } from './errors.ts';
import type { StoreLocation } from './location.ts';
import type { Database } from './schema.ts';

type PostgresLocation = Extract<StoreLocation, { kind: 'postgres' }>;

// PostgreSQL returns 64-bit integers (count(*)) and numerics as text, since a JS number cannot hold all of
// them; the store's counts and sums fit, and SQLite returns numbers, so both dialects return numbers.
const INT8_OID = 20;
const NUMERIC_OID = 1700;
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  }) as typeof pg.types.getTypeParser,
};

/** A few connections: each device's loop commits its own results; more would only wait on the server. */
const POOL_MAX_CONNECTIONS = 8;

/** What went wrong, in words that say how to fix it (codes: https://www.postgresql.org/docs/15/errcodes-appendix.html). */
function explainConnectError(error: unknown, location: PostgresLocation): string {
  const code = (error as { code?: string }).code;
  const url = new URL(location.url);
  const server = `${url.hostname}:${url.port || '5432'}`;
  const user = decodeURIComponent(url.username) || '(your OS user name)';
  const database = decodeURIComponent(url.pathname.slice(1));
  switch (code) {
    case 'ECONNREFUSED':
      return (
        `no PostgreSQL server answers at ${server}. Start it (Debian: pg_ctlcluster --skip-systemctl-redirect ` +
        '15 main start) or fix the host and port in --db'
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host ${url.hostname} is unknown. Fix the host in --db`;
    case '28P01':
    case '28000':
      return (
        `the server at ${server} refused user ${user}: expected a valid password (in the URL, PGPASSWORD or ` +
        '~/.pgpass) and a pg_hba.conf line that lets this host in'
      );
    case '3D000':
      return (
        `the database ${database} does not exist on ${server}. Create it once: ` +
        `CREATE DATABASE ${database} OWNER ${user}; (as a PostgreSQL superuser)`
      );
    default:
      return `could not connect to ${server}: ${(error as Error).message ?? String(error)}`;
  }
}

export interface PostgresOptions {
  /**
   * The server ends a session that sits inside a transaction this long (PostgreSQL's
   * idle_in_transaction_session_timeout), so a process stopped or cut off mid-commit does not keep its row
   * locks: a worker passes its lease, so its batch can be taken over once the lease runs out.
   */
  readonly idleInTransactionMs?: number;
}

export async function openPostgres(
  location: PostgresLocation,
  options: PostgresOptions = {},
): Promise<Kysely<Database>> {
  const pool = new pg.Pool({
    connectionString: location.url,
    max: POOL_MAX_CONNECTIONS,
    types: typeParsers,
    connectionTimeoutMillis: 10_000,
    ...(options.idleInTransactionMs === undefined
      ? {}
      : { idle_in_transaction_session_timeout: options.idleInTransactionMs }),
  });
  // A connection the server (or the network) drops emits 'error': on the pool when it was idle, on the client
  // when it was checked out. Unhandled, either would end the process; the query on it fails and says why
  // (and a commit is tried again: store/retry.ts).
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end();
    throw new StoreOpenError(
      `could not open the store ${location.shown}: ${explainConnectError(error, location)}`,
      { path: location.shown },
      { kind: 'input', cause: error },
    );
  }
  // The cursor lets `export` stream rows (Kysely's .stream()) as it does on SQLite.
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) });
}
