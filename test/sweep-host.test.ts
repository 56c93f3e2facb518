/**
 * A tiny real sweep on the host CPU: the real agent (built by make), the host transport and a temporary
 * SQLite file. Every planned case must be stored exactly once, with statistics that are consistent with
 * their own raw samples.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.ts';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import type { SchedulerEvent } from '../orchestrator/scheduler/events.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { planFromConfig } from '../orchestrator/sweep/plan-tasks.ts';
import { runSweep } from '../orchestrator/sweep/run-sweep.ts';
import { createHostDevice } from '../orchestrator/transport/host.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-sweep-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a tiny host sweep stores every planned case once, with sane statistics and provenance', async () => {
  const config = loadConfig(undefined, 'test', {
    models: 'resnet18-cifar10',
    schemes: 'dense,unstructured,bcr,filter',
    blocks: '4x1',
    sparsities: '0.75',
    minReps: 5,
    minTimeMs: 2,
    warmup: 1,
    batchMaxCases: 7,
  });
  const plan = planFromConfig(config);
  assert.ok(plan.batches.length > 1, 'the plan spans several agent calls');
  const store = await openStore(join(dir, 'sweep.db'));
  const events: SchedulerEvent[] = [];
  try {
    const summary = await runSweep(
      {
        db: store.db,
        dbPath: store.path,
        devices: [createHostDevice({ workDir: join(dir, 'host') })],
        buildAgent: (abi) => buildAgent(abi, { agentDir: join(root, 'device-agent') }),
        gitRevision: async () => null,
        hostName: 'test-host',
        emit: (event) => events.push(event),
        stop: new AbortController().signal,
        hardStop: new AbortController().signal,
      },
      { kind: 'new', config },
    );
    assert.equal(summary.status, 'done');
    assert.equal(summary.plannedCases, plan.cases.length);
    assert.deepEqual(summary.counts, {
      pending: 0,
      running: 0,
      done: plan.cases.length,
      failed: 0,
      skipped: 0,
    });

    const rows = await store.db
      .selectFrom('tasks as t')
      .innerJoin('measurements as m', 'm.task_id', 't.id')
      .select(['t.case_key', 't.status', 'm.samples_ns_json', 'm.n', 'm.min_ns', 'm.max_ns', 'm.median_ns'])
      .select(['m.p10_ns', 'm.p90_ns', 'm.ci_low_ns', 'm.ci_high_ns', 'm.mad_ns', 'm.agent_hash'])
      .where('t.run_id', '=', summary.runId)
      .execute();
    assert.equal(rows.length, plan.cases.length, 'one measurement per planned case');
    assert.deepEqual(
      rows.map((row) => row.case_key).sort(),
      plan.cases.map((plannedCase) => plannedCase.key).sort(),
      'exactly the planned cases, each once',
    );
    const build = await buildAgent('host', { agentDir: join(root, 'device-agent') });
    for (const row of rows) {
      const samples = JSON.parse(row.samples_ns_json) as number[];
      assert.equal(samples.length, row.n);
      assert.ok(row.n >= 5, `n >= minReps (got ${row.n} for ${row.case_key})`);
      assert.equal(row.min_ns, Math.min(...samples));
      assert.equal(row.max_ns, Math.max(...samples));
      assert.ok(row.min_ns <= row.p10_ns && row.p10_ns <= row.median_ns && row.median_ns <= row.p90_ns);
      assert.ok(row.p90_ns <= row.max_ns);
      assert.ok(
        row.ci_low_ns <= row.median_ns && row.median_ns <= row.ci_high_ns,
        `CI holds the median for ${row.case_key}`,
      );
      assert.ok(row.mad_ns >= 0 && row.min_ns > 0);
      assert.equal(row.agent_hash, build.hash);
    }
    const run = await store.db.selectFrom('runs').selectAll().executeTakeFirstOrThrow();
    assert.equal(run.status, 'done');
    assert.equal(JSON.parse(run.config_json).sweep.schemes.length, 4);
    const device = await store.db.selectFrom('devices').selectAll().executeTakeFirstOrThrow();
    assert.equal(device.kind, 'host');
    // Every result is reported: the planned cases, plus the re-measures of any the machine disturbed.
    const remeasured = events.reduce(
      (sum, event) => sum + (event.type === 'remeasure-start' ? event.cases : 0),
      0,
    );
    assert.equal(events.filter((event) => event.type === 'case-done').length, plan.cases.length + remeasured);
  } finally {
    await store.close();
  }
});
