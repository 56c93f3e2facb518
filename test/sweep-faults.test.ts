/**
 * Faults during a sweep, with a tiny fake agent (test/fixtures/fake-agent.mjs, a real executable) behind the
 * real host transport and a real SQLite store: a crash, a hang, garbage and a cut-off line each end as a
 * failed-case record with the agent's stderr while the rest of the sweep goes on; too many failures in a
 * row stop the device; a stop request lets the case in flight finish (real agent) and leaves the rest pending.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import type { SchedulerEvent } from '../orchestrator/scheduler/events.ts';
import { runQueues, type SchedulerOptions } from '../orchestrator/scheduler/scheduler.ts';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import { type OpenedStore, openStore } from '../orchestrator/store/open.ts';
import { createRun } from '../orchestrator/store/runs.ts';
import { insertTasks, type TaskInput } from '../orchestrator/store/tasks.ts';
import { createHostDevice } from '../orchestrator/transport/host.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const fakeAgent = join(root, 'test', 'fixtures', 'fake-agent.mjs');
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CRASH = 9001;
const HANG = 9002;
const GARBAGE = 9003;
const PARTIAL = 9004;
const AGENT_ERROR = 9005;

interface Setup {
  readonly store: OpenedStore;
  readonly run: (options?: Partial<SchedulerOptions>) => ReturnType<typeof runQueues>;
  readonly events: SchedulerEvent[];
}

/** A store with one run of idle cases (one batch), and a scheduler bound to the given agent binary. */
async function setup(name: string, durationsUs: readonly number[], agentBinary: string): Promise<Setup> {
  const store = await openStore(join(dir, `${name}.db`));
  const device = createHostDevice({ workDir: join(dir, name) });
  const info = await device.info();
  await upsertDevice(store.db, info);
  await createRun(store.db, { id: name, configJson: '{}', configHash: 'h', gitRevision: null, host: 'test' });
  const tasks: TaskInput[] = durationsUs.map((durationUs, index) => ({
    caseKey: `case${index}`,
    batchIndex: 0,
    seq: index,
    caseJson: { durationUs },
    planLine: { op: 'idle', durationUs, warmup: 0, minReps: 3, minTimeMs: 0 },
  }));
  await insertTasks(store.db, name, info.identity.id, tasks);
  const agentPath = join(info.workDir, 'agent');
  await device.push(agentBinary, agentPath, { mode: 0o755 });
  const events: SchedulerEvent[] = [];
  const run = (options: Partial<SchedulerOptions> = {}) =>
    runQueues(
      [{ device, agentPath, provenance: { agentHash: 'fake', buildFingerprint: info.buildFingerprint } }],
      {
        db: store.db,
        runId: name,
        retries: 3,
        maxConsecutiveFailures: 5,
        caseTimeoutMs: 5_000,
        stop: new AbortController().signal,
        hardStop: new AbortController().signal,
        emit: (event) => events.push(event),
        ...options,
      },
    );
  return { store, run, events };
}

async function taskStates(store: OpenedStore) {
  return store.db
    .selectFrom('tasks')
    .select(['case_key', 'status', 'attempts', 'last_error'])
    .orderBy('seq')
    .execute();
}

async function failuresOf(store: OpenedStore, caseKey: string) {
  return store.db
    .selectFrom('failures')
    .innerJoin('tasks', 'tasks.id', 'failures.task_id')
    .select([
      'failures.reason',
      'failures.transient',
      'failures.stderr',
      'failures.exit_code',
      'failures.message',
    ])
    .where('tasks.case_key', '=', caseKey)
    .orderBy('failures.id')
    .execute();
}

test('a crashing case is retried 3 times, then failed with the agent stderr; the other cases are done', async () => {
  const { store, run } = await setup('crash', [1, CRASH, 2, AGENT_ERROR, 3], fakeAgent);
  try {
    const [outcome] = await run();
    assert.equal(outcome?.stoppedReason, undefined);
    assert.deepEqual(outcome?.counts, { pending: 0, running: 0, done: 3, failed: 2, skipped: 0 });
    const states = await taskStates(store);
    assert.deepEqual(
      states.map((state) => [state.case_key, state.status]),
      [
        ['case0', 'done'],
        ['case1', 'failed'],
        ['case2', 'done'],
        ['case3', 'failed'],
        ['case4', 'done'],
      ],
    );
    assert.equal(states[1]?.attempts, 4, 'one attempt plus 3 retries');
    const crashes = await failuresOf(store, 'case1');
    assert.equal(crashes.length, 4);
    for (const crash of crashes) {
      assert.equal(crash.reason, 'crash');
      assert.equal(crash.transient, 1);
      assert.equal(crash.exit_code, 3);
      assert.match(crash.stderr ?? '', /fake agent: boom on case t\d+/);
    }
    // The agent's own error result is stable: recorded once, never retried, with the agent's message.
    const rejected = await failuresOf(store, 'case3');
    assert.deepEqual(
      rejected.map((failure) => [failure.reason, failure.transient, failure.message]),
      [['agent-error', 0, 'fake: this case cannot exist']],
    );
    const measured = await store.db.selectFrom('measurements').select(['task_id', 'median_ns']).execute();
    assert.equal(measured.length, 3);
    assert.ok(measured.every((row) => row.median_ns === 1030));
  } finally {
    await store.close();
  }
});

test('a hung case is killed after the case timeout and recorded as a timeout; the rest goes on', async () => {
  const { store, run } = await setup('hang', [1, HANG, 2], fakeAgent);
  try {
    const startedMs = performance.now();
    const [outcome] = await run({ retries: 1, caseTimeoutMs: 800 });
    const elapsedMs = performance.now() - startedMs;
    assert.deepEqual(outcome?.counts, { pending: 0, running: 0, done: 2, failed: 1, skipped: 0 });
    const hangs = await failuresOf(store, 'case1');
    assert.deepEqual(
      hangs.map((failure) => failure.reason),
      ['timeout', 'timeout'],
    );
    assert.match(hangs[0]?.message ?? '', /printed nothing for 800 ms/);
    assert.ok(elapsedMs >= 1600, `two attempts of 800 ms each, took ${elapsedMs.toFixed(0)} ms`);
  } finally {
    await store.close();
  }
});

test('garbage on stdout and a line cut short are protocol failures; the rest of the sweep is stored', async () => {
  const { store, run } = await setup('garbage', [1, GARBAGE, 2, PARTIAL, 3], fakeAgent);
  try {
    const [outcome] = await run({ retries: 0 });
    assert.deepEqual(outcome?.counts, { pending: 0, running: 0, done: 3, failed: 2, skipped: 0 });
    const [garbage] = await failuresOf(store, 'case1');
    assert.equal(garbage?.reason, 'garbage');
    assert.match(garbage?.message ?? '', /Segmentation fault/);
    const [partial] = await failuresOf(store, 'case3');
    assert.equal(partial?.reason, 'garbage');
    assert.match(partial?.message ?? '', /not JSON/);
  } finally {
    await store.close();
  }
});

test('a device stops after maxConsecutiveFailures cases in a row fail; what is left stays pending', async () => {
  const { store, run, events } = await setup('stop-device', [CRASH, CRASH, CRASH, 1, 2], fakeAgent);
  try {
    const [outcome] = await run({ retries: 0, maxConsecutiveFailures: 2 });
    assert.match(outcome?.stoppedReason ?? '', /2 cases in a row failed/);
    assert.deepEqual(outcome?.counts, { pending: 3, running: 0, done: 0, failed: 2, skipped: 0 });
    assert.ok(events.some((event) => event.type === 'device-stopped'));
  } finally {
    await store.close();
  }
});

test('a stop request lets the case in flight finish, commits it, and leaves the rest pending (real agent)', async () => {
  const build = await buildAgent('host', { agentDir: join(root, 'device-agent') });
  // Idle cases of 3 x 100 ms: long enough to ask for a stop while the first one runs.
  const { store, run, events } = await setup('stop', [100_000, 100_000, 100_000, 100_000], build.binaryPath);
  try {
    const stop = new AbortController();
    const stopSoon = setTimeout(() => stop.abort(), 150);
    const [outcome] = await run({ stop: stop.signal });
    clearTimeout(stopSoon);
    assert.equal(outcome?.interrupted, true);
    const done = outcome?.counts.done ?? 0;
    assert.ok(
      done >= 1 && done < 4,
      `the case in flight finished and was kept, the rest not run (done ${done})`,
    );
    assert.equal(outcome?.counts.pending, 4 - done);
    assert.equal(outcome?.counts.failed, 0);
    assert.equal(events.filter((event) => event.type === 'case-done').length, done);
    const failures = await store.db.selectFrom('failures').selectAll().execute();
    assert.equal(failures.length, 0, 'a requested stop is not a failure');
  } finally {
    await store.close();
  }
});
