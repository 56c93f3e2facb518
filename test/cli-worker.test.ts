/**
 * `sweep --enqueue` and `prunelab worker` as a user meets them on one host with an SQLite store: bad input
 * (exit 2, naming the flag), two enqueues of one config are two runs, a worker with no matching device says so
 * and waits, a worker on the host CPU runs a run queued for `abi=host` to the end, `status` shows the worker
 * and the queue, `sweep --resume` refuses a queued run, and SIGTERM ends the worker cleanly (exit 0).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { runPrunelab } from './support/cli.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(os.tmpdir(), 'prunelab-cli-worker-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const db = join(dir, 'lab.db');
const config = join(dir, 'sweep.yaml');
writeFileSync(
  config,
  `sweep:
  models: [resnet18-cifar10]
  schemes: [dense]
  threads: [1]
  measurement: { warmup: 0, minReps: 2, minTimeMs: 0, maxTimeMs: 50 }
  batch: { maxCases: 4 }
lab:
  disturbance: { remeasures: 0 }
`,
);

test('--enqueue and worker flags: bad input is exit 2 and names the flag', async () => {
  const noTarget = await runPrunelab(['sweep', '--config', config, '--db', db, '--enqueue']);
  assert.equal(noTarget.exitCode, 2);
  assert.match(noTarget.stderr, /--enqueue: expected --target device=ID, model=M, abi=A or fingerprint=F/);
  const badTarget = await runPrunelab([
    'sweep',
    '--config',
    config,
    '--db',
    db,
    '--enqueue',
    '--target',
    'colour=red',
  ]);
  assert.equal(badTarget.exitCode, 2);
  assert.match(
    badTarget.stderr,
    /--target: expected device=\.\.\., model=\.\.\., abi=\.\.\., fingerprint=\.\.\..*got 'colour=red'/,
  );
  const stray = await runPrunelab(['sweep', '--config', config, '--db', db, '--target', 'abi=host']);
  assert.equal(stray.exitCode, 2);
  assert.match(stray.stderr, /--target: expected it with --enqueue/);
  const lease = await runPrunelab(['worker', '--db', db, '--lease-ms', '5']);
  assert.equal(lease.exitCode, 2);
  assert.match(lease.stderr, /--lease-ms: expected a whole number of ms >= 1000, got 5/);
  const help = await runPrunelab(['worker', '--help']);
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /Examples:/);
});

test('a worker on the host: says nothing matches, then runs a run queued for abi=host; two enqueues are two runs', async () => {
  const enqueue = async (target: string) => {
    const result = await runPrunelab([
      'sweep',
      '--config',
      config,
      '--db',
      db,
      '--enqueue',
      '--target',
      target,
      '--json',
    ]);
    assert.equal(result.exitCode, 0, result.stderr);
    return JSON.parse(result.stdout) as { runId: string; cases: number; batches: number; target: string };
  };
  const foreign = await enqueue('model=Pixel 7');
  const worker = execa(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      join(root, 'orchestrator/cli/main.ts'),
      'worker',
      '--db',
      db,
      '--poll-ms',
      '100',
    ],
    { cwd: dir, env: { PRUNELAB_NO_ADB: '1', PRUNELAB_NO_HOST: '0' }, reject: false },
  );
  let stderr = '';
  worker.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    const deadline = Date.now() + 90_000;
    while (!/no device here matches what the queue holds/.test(stderr)) {
      assert.ok(Date.now() < deadline, `the worker never said nothing matches:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(stderr, new RegExp(`${foreign.batches} batches for model=Pixel 7`));

    const first = await enqueue('abi=host');
    const second = await enqueue('abi=host');
    assert.notEqual(first.runId, second.runId);
    for (;;) {
      const status = await runPrunelab(['status', '--db', db, '--json']);
      const lab = JSON.parse(status.stdout) as {
        workers: { state: string; devices: { id: string }[] }[];
        runs: { id: string; status: string; queue: { settled: number; cases: number } | null }[];
      };
      const mine = lab.runs.filter((run) => run.id === first.runId || run.id === second.runId);
      if (mine.every((run) => run.status === 'done')) {
        for (const run of mine)
          assert.deepEqual([run.queue?.settled, run.queue?.cases], [first.cases, first.cases]);
        assert.equal(lab.workers[0]?.state, 'alive');
        assert.match(lab.workers[0]?.devices[0]?.id ?? '', /^host:/);
        const foreignRun = lab.runs.find((run) => run.id === foreign.runId);
        assert.deepEqual([foreignRun?.status, foreignRun?.queue?.settled], ['running', 0]);
        break;
      }
      assert.ok(Date.now() < deadline + 90_000, `the queued runs did not finish:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // A queued run is the workers' business: `sweep --resume` refuses it rather than run it outside the queue.
    const resumed = await runPrunelab(['sweep', '--db', db, '--resume', foreign.runId]);
    assert.equal(resumed.exitCode, 2, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`run ${foreign.runId} .* was enqueued for workers`));
    const text = await runPrunelab(['status', '--db', db]);
    assert.match(text.stdout, /Workers: \n {2}\S+: pid \d+ on .*, alive, heartbeat/);
    assert.match(
      text.stdout,
      new RegExp(`${first.runId} .*: done, queue: ${first.cases}/${first.cases} cases settled \\(100%`),
    );
  } finally {
    worker.kill('SIGTERM');
  }
  const end = await worker;
  assert.equal(end.exitCode, 0, stderr);
  assert.match(String(end.stdout), /stopped cleanly/);
});
