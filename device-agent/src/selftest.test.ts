/**
 * What `prunelab-agent selftest` covers, read from its real output: every op and scheme (and both dense
 * conv kernels, threads 1 and 2, bcr row pruning) passes against the double-precision reference, and the
 * refusals a sweep relies on come with the right reason. Guards against the selftest silently shrinking;
 * the exit code itself is checked by test/agent-host.test.ts and test/agent-arm64.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runAgent } from '../../test/agent-harness.ts';

interface CheckLine {
  readonly type: 'selftest';
  readonly op: string;
  readonly scheme: string;
  readonly block: string | null;
  readonly sparsity: number;
  readonly threads: number;
  readonly ok: boolean;
  readonly kernel?: string;
  readonly maxRelErr?: number;
  readonly density?: number;
  readonly expect?: string;
  readonly error?: string | null;
  readonly bcrRowShare?: number;
}

test('selftest: every op x scheme checked, passing, with the expected refusals', () => {
  const run = runAgent('host', ['selftest'], { timeoutMs: 300_000 });
  assert.equal(run.status, 0, run.stdout.slice(-2000));
  const lines = run.lines.map(
    (l) => JSON.parse(l) as CheckLine | { type: 'selftest-done'; checks: number; failed: number },
  );
  const done = lines.at(-1);
  const checks = lines.filter((l): l is CheckLine => l.type === 'selftest');
  assert.deepEqual(done, { type: 'selftest-done', checks: checks.length, failed: 0 });
  assert.ok(checks.every((c) => c.ok));

  const computed = checks.filter((c) => c.expect === undefined && c.kernel !== undefined);
  const covered = (op: string, scheme: string) => computed.some((c) => c.op === op && c.scheme === scheme);
  for (const scheme of ['dense', 'unstructured', 'filter', 'channel', 'pattern', 'bcr', 'block-punched'])
    assert.ok(covered('conv', scheme), `conv ${scheme}`);
  for (const scheme of ['dense', 'unstructured', 'filter', 'channel', 'bcr', 'block-punched'])
    assert.ok(covered('fc', scheme), `fc ${scheme}`);
  assert.ok(covered('dwconv', 'dense'));
  assert.ok(computed.some((c) => c.kernel?.startsWith('dense-direct')));
  assert.ok(computed.some((c) => c.kernel?.startsWith('dense-gemm-') && !c.kernel.includes('mvec')));
  assert.ok(computed.some((c) => c.kernel?.startsWith('dense-gemm-mvec')));
  assert.ok(computed.some((c) => c.threads === 2) && computed.some((c) => c.threads === 1));
  assert.ok(computed.some((c) => c.scheme === 'bcr' && (c.bcrRowShare ?? 0) > 0));
  assert.ok(
    new Set(computed.filter((c) => c.scheme === 'bcr').map((c) => c.block)).size >= 4,
    'several bcr blocks',
  );
  for (const c of computed) {
    assert.ok(
      c.maxRelErr !== undefined && c.maxRelErr < 1e-3,
      `${c.op} ${c.scheme}: maxRelErr ${c.maxRelErr}`,
    );
    if (c.scheme === 'pattern') assert.ok((c.density ?? 1) <= 4 / 9 + 1e-12);
  }

  const refusals = checks.filter((c) => c.expect === 'refusal').map((c) => c.error ?? '');
  for (const reason of [
    'block 8x4 does not divide cout=60',
    'does not divide cin*k*k=180',
    'does not divide cin=20',
    'pattern needs a 3x3 conv',
    'sparsity must be >= 0.556',
    'dwconv supports only the dense scheme',
  ])
    assert.ok(
      refusals.some((r) => r.includes(reason)),
      `a refusal mentioning "${reason}"`,
    );
});
