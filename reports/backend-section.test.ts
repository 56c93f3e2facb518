/** The CPU-against-GPU section on literal cases chosen so the pairs and knees can be checked by hand. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendPairs, backendSection, blockKnees } from './backend-section.ts';
import { literalInput } from './test-support.ts';
import type { ReportCase } from './types.ts';

const base = literalInput().cases[0] as ReportCase;
const at = (backend: string, scheme: string, block: string | null, medianNs: number): ReportCase => ({
  ...base,
  backend,
  scheme,
  block,
  sparsity: scheme === 'dense' ? 0 : 0.75,
  medianNs,
});

const cases = [
  at('cpu', 'dense', null, 1000),
  at('cpu', 'bcr', '4x1', 380), // 2.63x: within 90% of the CPU's best (2.86x), smallest -> the CPU knee
  at('cpu', 'bcr', '8x4', 350),
  at('gpu', 'dense', null, 2000),
  at('gpu', 'bcr', '4x1', 1600), // 1.25x
  at('gpu', 'bcr', '8x4', 500), // 4x: the GPU needs the larger block
];

test('pairs: each case measured on both backends, median beside median', () => {
  const pairs = backendPairs(cases);
  assert.equal(pairs.length, 3);
  assert.deepEqual(
    pairs.map((p) => [p.scheme, p.block, p.cpuNs, p.gpuNs]),
    [
      ['dense', null, 1000, 2000],
      ['bcr', '4x1', 380, 1600],
      ['bcr', '8x4', 350, 500],
    ],
  );
});

test("knees: the smallest block within 90% of the best, per backend, against that backend's dense", () => {
  const knees = blockKnees(cases);
  const cpu = knees.find((k) => k.backend === 'cpu');
  const gpu = knees.find((k) => k.backend === 'gpu');
  assert.equal(cpu?.knee, '4x1');
  assert.equal(cpu?.best, '8x4');
  assert.equal(gpu?.knee, '8x4');
  assert.equal(gpu?.bestSpeedup, 4);
});

test('the section is absent without GPU cases and names PoCL when present', () => {
  assert.equal(backendSection(cases.filter((c) => c.backend === 'cpu')), '');
  const html = backendSection(cases);
  assert.match(html, /CPU against GPU per layer/);
  assert.match(html, /PoCL/);
});
