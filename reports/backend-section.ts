/**
 * The report's CPU-against-GPU section (pure): per device and layer shape measured on both backends, each
 * scheme's median on the CPU and on the GPU side by side, and for the block schemes the block-size knee of
 * each backend: the smallest block (fewest weights) whose speedup over that backend's dense is within
 * KNEE_SHARE of the best block's at the same sparsity. A GPU needs larger blocks before speed saturates, so
 * the two knees are the figure to compare.
 */
import { parseBlockSize } from '../config/vocabulary.ts';
import { formatNs } from './format.ts';
import { table, text } from './html.ts';
import type { ReportCase } from './types.ts';

/** A block is "at the knee" when its speedup is at least this share of the best block's. */
export const KNEE_SHARE = 0.9;

export interface BackendPair {
  readonly deviceId: string;
  readonly shapeKey: string;
  readonly scheme: string;
  readonly block: string | null;
  readonly sparsity: number;
  readonly cpuNs: number;
  readonly gpuNs: number;
}

export interface BlockKnee {
  readonly deviceId: string;
  readonly backend: string;
  readonly shapeKey: string;
  readonly scheme: string;
  readonly sparsity: number;
  /** The smallest block within KNEE_SHARE of the best; null without a dense baseline. */
  readonly knee: string | null;
  readonly best: string | null;
  readonly bestSpeedup: number | null;
}

const caseId = (c: ReportCase) =>
  `${c.deviceId}\u0000${c.shapeKey}\u0000${c.scheme}\u0000${c.block}\u0000${c.sparsity}`;

/** Threads-1 cases measured on both backends (the GPU has no thread count; its cases run with threads 1). */
export function backendPairs(cases: readonly ReportCase[]): BackendPair[] {
  const cpu = new Map<string, ReportCase>();
  for (const c of cases) if (c.backend === 'cpu' && c.threads === 1) cpu.set(caseId(c), c);
  const pairs: BackendPair[] = [];
  for (const c of cases) {
    if (c.backend !== 'gpu') continue;
    const twin = cpu.get(caseId(c));
    if (twin === undefined) continue;
    const { deviceId, shapeKey, scheme, block, sparsity } = c;
    pairs.push({ deviceId, shapeKey, scheme, block, sparsity, cpuNs: twin.medianNs, gpuNs: c.medianNs });
  }
  return pairs;
}

function blockWeights(block: string | null): number {
  const size = block === null ? undefined : parseBlockSize(block);
  return size === undefined ? Number.POSITIVE_INFINITY : size.rows * size.cols;
}

/** The knee of every (device, backend, shape, block scheme, sparsity) with a dense baseline and >= 2 blocks. */
export function blockKnees(cases: readonly ReportCase[]): BlockKnee[] {
  const dense = new Map<string, number>();
  for (const c of cases)
    if (c.scheme === 'dense')
      dense.set(`${c.deviceId}\u0000${c.backend}\u0000${c.shapeKey}\u0000${c.threads}`, c.medianNs);
  const groups = new Map<string, ReportCase[]>();
  for (const c of cases) {
    if (c.block === null || c.threads !== 1) continue;
    const key = `${c.deviceId}\u0000${c.backend}\u0000${c.shapeKey}\u0000${c.scheme}\u0000${c.sparsity}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const knees: BlockKnee[] = [];
  for (const group of groups.values()) {
    const first = group[0];
    if (first === undefined || group.length < 2) continue;
    const denseNs = dense.get(`${first.deviceId}\u0000${first.backend}\u0000${first.shapeKey}\u00001`);
    const speedups = group.map((c) => ({ c, s: denseNs === undefined ? null : denseNs / c.medianNs }));
    const best = speedups.reduce((a, b) => ((b.s ?? 0) > (a.s ?? 0) ? b : a));
    const atKnee = speedups
      .filter((x) => x.s !== null && best.s !== null && x.s >= KNEE_SHARE * best.s)
      .sort((a, b) => blockWeights(a.c.block) - blockWeights(b.c.block))[0];
    knees.push({
      deviceId: first.deviceId,
      backend: first.backend,
      shapeKey: first.shapeKey,
      scheme: first.scheme,
      sparsity: first.sparsity,
      knee: atKnee?.c.block ?? null,
      best: best.s === null ? null : best.c.block,
      bestSpeedup: best.s,
    });
  }
  return knees;
}

export function backendSection(cases: readonly ReportCase[]): string {
  const pairs = backendPairs(cases);
  if (pairs.length === 0) return '';
  const pairTable = table(
    'backend-pairs',
    pairs,
    [
      { title: 'device', cell: (r) => text(r.deviceId) },
      { title: 'layer', cell: (r) => text(r.shapeKey) },
      { title: 'scheme', cell: (r) => text(`${r.scheme}${r.block === null ? '' : ` ${r.block}`}`) },
      { title: 'sparsity', cell: (r) => text(r.sparsity), sort: (r) => r.sparsity },
      { title: 'CPU median', cell: (r) => text(formatNs(r.cpuNs)), sort: (r) => r.cpuNs },
      { title: 'GPU median', cell: (r) => text(formatNs(r.gpuNs)), sort: (r) => r.gpuNs },
      {
        title: 'GPU / CPU',
        cell: (r) => text((r.gpuNs / r.cpuNs).toFixed(2)),
        sort: (r) => r.gpuNs / r.cpuNs,
      },
    ],
    true,
  );
  const kneeTable = table(
    'block-knees',
    blockKnees(cases),
    [
      { title: 'device', cell: (r) => text(r.deviceId) },
      { title: 'backend', cell: (r) => text(r.backend) },
      { title: 'layer', cell: (r) => text(r.shapeKey) },
      { title: 'scheme', cell: (r) => text(r.scheme) },
      { title: 'sparsity', cell: (r) => text(r.sparsity), sort: (r) => r.sparsity },
      { title: 'knee block', cell: (r) => text(r.knee) },
      { title: 'best block', cell: (r) => text(r.best) },
      { title: 'best speedup', cell: (r) => text(r.bestSpeedup?.toFixed(2)), sort: (r) => r.bestSpeedup },
    ],
    true,
  );
  return `<section id="backends">
<h2>CPU against GPU per layer</h2>
<p class="note">Each case measured on both backends (threads 1), median against median. Below, the block-size knee of each backend: the smallest block whose speedup over the same backend's dense is within ${Math.round(KNEE_SHARE * 100)}% of the best block's. GPU timings are the wall clock around the kernels and <span class="mono">clFinish</span>; where the OpenCL device is PoCL (OpenCL on a CPU), they are not GPU speeds.</p>
${pairTable}
${kneeTable}
</section>`;
}
