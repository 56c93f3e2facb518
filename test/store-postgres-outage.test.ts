/**
 * The PostgreSQL store goes away in the middle of a sweep (a TCP proxy between the sweep and the real server
 * is cut for a while, as a network cut or a server restart would): the results the agent returns meanwhile
 * are committed once the store answers again, the sweep ends done, and no case is stored twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pg from 'pg';
import { runPrunelab } from './support/cli.ts';
import { createTestDatabase, TEST_PG_URL, type TestDatabase } from './support/postgres.ts';
import { startProxy } from './support/tcp-proxy.ts';

const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-outage-'));
let database: TestDatabase | undefined;
after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await database?.drop();
});

async function count(url: string, query: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(query)).rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

test('a store cut for 2 s mid-batch: results are committed when it answers again, the sweep ends done', async () => {
  database = await createTestDatabase('outage');
  const proxy = await startProxy(new URL(TEST_PG_URL));
  try {
    const viaProxy = new URL(database.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const config = join(dir, 'lab.yaml');
    // One agent call of 12 cases of 150+ ms: the cut falls inside it.
    writeFileSync(
      config,
      `sweep:
  models: [resnet18-cifar10]
  schemes: [dense]
  threads: [1]
  measurement: { warmup: 1, minReps: 3, minTimeMs: 150, maxTimeMs: 300 }
  batch: { maxCases: 12, targetMs: 600000 }
lab:
  disturbance: { remeasures: 0 }
`,
    );
    const sweep = runPrunelab(['sweep', '--json', '--no-report', '--config', config, '--db', viaProxy.href]);
    const deadline = Date.now() + 120_000;
    while ((await count(database.url, 'select count(*) as n from measurements').catch(() => 0)) < 2) {
      if (Date.now() > deadline) throw new Error('the sweep measured nothing within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await proxy.cut(2000);
    const result = await sweep;
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, /store unreachable/);
    const summary = JSON.parse(result.stdout) as { status: string };
    assert.equal(summary.status, 'done');
    const tasks = await count(database.url, 'select count(*) as n from tasks');
    assert.equal(await count(database.url, 'select count(*) as n from measurements'), tasks);
    assert.equal(await count(database.url, 'select count(distinct task_id) as n from measurements'), tasks);
  } finally {
    proxy.stop();
  }
});
