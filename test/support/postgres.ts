/**
 * A throwaway PostgreSQL database per test file, on the real server that test/install-system-packages.sh
 * starts. PRUNELAB_TEST_PG_URL names a role that may create databases (default: the role that script
 * creates). A test that needs PostgreSQL and cannot reach it fails and says how to start it: never a skip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_PG_URL =
  process.env.PRUNELAB_TEST_PG_URL ?? 'postgres://prunelab:prunelab@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** The URL of the new database, for `--db` and openStore. */
  readonly url: string;
  readonly name: string;
  /** Drops the database (ending any connection left open to it). */
  drop(): Promise<void>;
}

async function withAdmin<T>(use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_PG_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
  } catch (error) {
    const shown = new URL(TEST_PG_URL);
    shown.password = '';
    throw new Error(
      `these tests need a PostgreSQL server: could not connect to ${shown.href} (${(error as Error).message}). ` +
        'Start it and create the test role with `bash test/install-system-packages.sh` (it runs ' +
        '`pg_ctlcluster --skip-systemctl-redirect 15 main start`), or point PRUNELAB_TEST_PG_URL at a role ' +
        'that may create databases.',
      { cause: error },
    );
  }
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Creates `prunelab_test_<label>_<random>` on the test server; call `drop()` in the test's `after`. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `prunelab_test_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withAdmin((client) => client.query(`create database "${name}"`));
  const url = new URL(TEST_PG_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    name,
    drop: () =>
      withAdmin((client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}
