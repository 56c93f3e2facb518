/**
 * Disturbed cases are measured again, end to end: a real host sweep with an agent built to run every fourth case
 * of each agent process as if something shared its core (-DPRUNELAB_DISTURB_EVERY=4, a testing aid: its timed
 * runs and its probes are stretched by 50%). No other disturbance can be made to order here: a busy process on
 * the agent's CPU or its neighbour did not move the probe or the kernels on the development VM (the scheduler
 * gives each its slices; the two vCPUs share no core). The sweep must find those cases by their probe, measure
 * them again after the rest, keep the calm result, and report the extra results in its progress.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config/load.ts';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import { CALM_POLL_MS, waitForCalm } from '../orchestrator/scheduler/disturbance.ts';
import type { SchedulerEvent } from '../orchestrator/scheduler/events.ts';
import { openStore } from '../orchestrator/store/open.ts';
import { planFromConfig } from '../orchestrator/sweep/plan-tasks.ts';
import { runSweep } from '../orchestrator/sweep/run-sweep.ts';
import { createHostDevice } from '../orchestrator/transport/host.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-disturb-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const DISTURB_EVERY = 4;

test('cases run disturbed are found by their probe, measured again after the rest, and the calm result is kept', async (t) => {
  const config = loadConfig('lab:\n  disturbance:\n    tolerance: 0.1\n    remeasures: 2\n', 'test', {
    models: 'resnet18-cifar10',
    schemes: 'dense,unstructured',
    sparsities: '0.75',
    minReps: 5,
    minTimeMs: 5,
    warmup: 1,
    batchMaxCases: 7,
  });
  const plan = planFromConfig(config);
  assert.ok(plan.batches.length >= 2 && plan.batches.some((batch) => batch.cases.length >= DISTURB_EVERY));
  const store = await openStore(join(dir, 'sweep.db'));
  const events: SchedulerEvent[] = [];
  try {
    const summary = await runSweep(
      {
        db: store.db,
        dbPath: store.path,
        devices: [createHostDevice({ workDir: join(dir, 'host') })],
        buildAgent: (abi) =>
          buildAgent(abi, {
            agentDir: join(root, 'device-agent'),
            extraCflags: `-DPRUNELAB_DISTURB_EVERY=${DISTURB_EVERY}`,
          }),
        gitRevision: async () => null,
        hostName: 'test-host',
        emit: (event) => events.push(event),
        stop: new AbortController().signal,
        hardStop: new AbortController().signal,
      },
      { kind: 'new', config },
    );
    assert.equal(summary.status, 'done');
    assert.equal(summary.counts.done, plan.cases.length);
    assert.equal(summary.counts.failed, 0);

    // The first pass, from the events: each batch is one agent process, so its every fourth case was disturbed.
    const firstRemeasure = events.findIndex((event) => event.type === 'remeasure-start');
    assert.ok(firstRemeasure > 0, 'a re-measure pass was announced');
    const firstPass = new Map<number, number>();
    const disturbed: number[] = [];
    let position = 0;
    for (const event of events.slice(0, firstRemeasure)) {
      if (event.type === 'batch-start') position = 0;
      if (event.type !== 'case-done') continue;
      position += 1;
      firstPass.set(event.taskId, event.medianNs);
      if (position % DISTURB_EVERY === 0) disturbed.push(event.taskId);
    }
    assert.equal(firstPass.size, plan.cases.length, 'every case measured once before any re-measure');
    assert.ok(disturbed.length >= 2);

    const rows = await store.db
      .selectFrom('measurements')
      .select(['task_id', 'median_ns', 'remeasures', 'probe_before_ns', 'probe_after_ns'])
      .execute();
    assert.equal(rows.length, plan.cases.length, 'still one measurement per case');
    const byTask = new Map(rows.map((row) => [row.task_id, row]));
    for (const row of rows) {
      assert.ok(
        (row.probe_before_ns ?? 0) > 0 && (row.probe_after_ns ?? 0) > 0,
        'every result has its probes',
      );
    }
    // Every result of every case, first pass and re-measures (a re-measure batch is a new agent process, so its
    // every fourth case is disturbed again: a case may need both re-measures, or stay disturbed).
    const attempts = new Map<number, { medianNs: number; probeMaxNs: number }[]>();
    for (const event of events) {
      if (event.type !== 'case-done') continue;
      const tries = attempts.get(event.taskId) ?? [];
      tries.push({ medianNs: event.medianNs, probeMaxNs: event.probeMaxNs ?? Number.NaN });
      attempts.set(event.taskId, tries);
    }
    let calmFound = 0;
    for (const taskId of disturbed) {
      const row = byTask.get(taskId);
      const first = firstPass.get(taskId) ?? 0;
      const tries = attempts.get(taskId) ?? [];
      assert.ok(
        row !== undefined && row.remeasures >= 1 && tries.length === row.remeasures + 1,
        `task ${taskId} (disturbed by design) was measured again (${tries.length} results)`,
      );
      // The kept result is the one whose probe ran fastest (the machine's own noise may make it not the fastest
      // median: a neighbour slows the probe and a memory-bound kernel differently).
      const calmest = tries.reduce((best, next) => (next.probeMaxNs < best.probeMaxNs ? next : best));
      assert.equal(
        row.median_ns,
        calmest.medianNs,
        `task ${taskId}: the result with the calmest probe is kept (${JSON.stringify(tries)})`,
      );
      assert.equal(Math.max(row.probe_before_ns ?? 0, row.probe_after_ns ?? 0), calmest.probeMaxNs);
      if (row.median_ns < first / 1.25) calmFound += 1;
    }
    t.diagnostic(
      `disturbed by design: ${disturbed.length}; found calm (median under 1/1.25 of the first): ${calmFound}`,
    );
    // The machine's own disturbances add re-measures of other cases: how many is the machine's business, not
    // the test's (7 of 24 in one run on the development VM while its neighbours were busy).
    const undisturbedAgain = rows.filter((row) => !disturbed.includes(row.task_id) && row.remeasures > 0);
    t.diagnostic(
      `also measured again, disturbed by the machine: ${undisturbedAgain.length} of ${rows.length}`,
    );

    // Progress counts every result: the planned cases plus the announced re-measures.
    const announced = events.reduce(
      (sum, event) => sum + (event.type === 'remeasure-start' ? event.cases : 0),
      0,
    );
    assert.equal(events.filter((event) => event.type === 'case-done').length, plan.cases.length + announced);
  } finally {
    await store.close();
  }
});

test('before a re-measure pass, the calm check waits for a calm probe, up to its cap, and stops on abort', async () => {
  const build = await buildAgent('host', { agentDir: join(root, 'device-agent') });
  const device = createHostDevice({ workDir: join(dir, 'calm') });
  const check = (fastestNs: number, calmWaitMs: number, signal?: AbortSignal) =>
    waitForCalm(
      device,
      build.binaryPath,
      fastestNs,
      { tolerance: 0.1, calmWaitMs },
      {
        timeoutMs: 30_000,
        ...(signal === undefined ? {} : { signal }),
      },
    );

  // A reference far above any real probe: calm at the first check.
  const calm = await check(1e12, 5_000);
  assert.equal(calm.calm, true);
  assert.ok(calm.ratio !== undefined && calm.ratio < 1e-3);
  assert.ok(calm.waitedMs < CALM_POLL_MS, `no wait when calm (${calm.waitedMs} ms)`);

  // A reference no probe can reach (1 ns): it polls until the cap, then gives up and says so.
  const never = await check(1, 1_500);
  assert.equal(never.calm, false);
  assert.ok(never.ratio !== undefined && never.ratio > 1_000, 'the probe was read, and it was slower');
  assert.ok(
    never.waitedMs >= 1_500 && never.waitedMs < 10_000,
    `waited up to the cap (${never.waitedMs} ms)`,
  );

  // A stop request ends the wait at once.
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 300);
  const stopped = await check(1, 60_000, stop.signal);
  assert.equal(stopped.calm, false);
  assert.ok(stopped.waitedMs < 5_000, `the wait ended on the stop (${stopped.waitedMs} ms)`);
});
