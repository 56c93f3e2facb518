/** Runs: one sweep invocation (and its resumptions), with the configuration it was planned from. */
import type { StoreDb } from './open.ts';
import type { RunRow, RunStatus } from './schema.ts';

export interface NewRun {
  readonly id: string;
  readonly configJson: string;
  readonly configHash: string;
  readonly gitRevision: string | null;
  readonly host: string;
}

export async function createRun(db: StoreDb, run: NewRun, now: Date = new Date()): Promise<void> {
  await db
    .insertInto('runs')
    .values({
      id: run.id,
      created_at: now.toISOString(),
      config_json: run.configJson,
      config_hash: run.configHash,
      git_revision: run.gitRevision,
      host: run.host,
      status: 'running',
      finished_at: null,
    })
    .execute();
}

export async function findRun(db: StoreDb, runId: string): Promise<RunRow | undefined> {
  return db.selectFrom('runs').selectAll().where('id', '=', runId).executeTakeFirst();
}

/** The most recently created run, the default target of `sweep --resume` and `export`. */
export async function latestRun(db: StoreDb): Promise<RunRow | undefined> {
  return db
    .selectFrom('runs')
    .selectAll()
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(1)
    .executeTakeFirst();
}

/** The most recent run ids, newest first (for messages that list valid choices). */
export async function listRunIds(db: StoreDb, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('runs')
    .select('id')
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((row) => row.id);
}

export async function setRunStatus(
  db: StoreDb,
  runId: string,
  status: RunStatus,
  now: Date = new Date(),
): Promise<void> {
  await db
    .updateTable('runs')
    .set({ status, finished_at: status === 'running' ? null : now.toISOString() })
    .where('id', '=', runId)
    .execute();
}

/** Sortable, readable and unique enough for one lab: `20250101-120000-3fa9`. */
export function newRunId(now: Date, random: () => number = Math.random): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  const suffix = Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0');
  return `${stamp}-${suffix}`;
}
