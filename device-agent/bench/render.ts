/** BenchSummary -> the text tables `npm run bench:kernels` prints. Pure. */
import { SPARSITIES } from './cases.ts';
import type { BenchSummary, Cell, LayerTable } from './summarize.ts';

export interface RunContext {
  readonly agent: string;
  readonly openblasCore: string;
  readonly sampling: string;
  readonly loadBefore: readonly number[];
  readonly loadAfter: readonly number[];
  readonly durationS: number;
}

const f1 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
const us = (ns: number | undefined) => (ns === undefined ? '-' : (ns / 1e3).toFixed(1));

export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  alignLeft = 1,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i < alignLeft ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function cellText(cell: Cell | undefined): [string, string, string] {
  if (!cell) return ['-', '-', '-'];
  if (cell.error !== undefined) return ['refused', '', ''];
  return [
    f1(cell.gflops),
    cell.speedup === undefined ? '-' : `${f2(cell.speedup)}x`,
    cell.ideal === undefined ? '-' : `${f1(cell.ideal)}x`,
  ];
}

function layerSection(t: LayerTable): string {
  const dense = t.dense.ok
    ? `dense ${f1(t.denseGflops)} GFLOP/s, ${us(t.dense.medianNs)} us (${t.dense.kernel})`
    : `dense failed: ${t.dense.error}`;
  const header = ['scheme', ...SPARSITIES.flatMap((s) => [`${s * 100}% GF/s`, 'x dense', '1/d'])];
  const rows = t.rows.map((r) => [
    r.variant,
    ...SPARSITIES.flatMap((s) => cellText(r.cells.find((c) => c.sparsity === s))),
  ]);
  const refusals = t.rows.flatMap((r) =>
    r.cells.filter((c) => c.error !== undefined).map((c) => `  ${r.variant} @${c.sparsity}: ${c.error}`),
  );
  return [
    `${t.layer}: ${dense}`,
    table(header, rows),
    ...(refusals.length ? ['refused:', ...refusals] : []),
  ].join('\n');
}

export function renderText(s: BenchSummary, ctx: RunContext): string {
  const out: string[] = [];
  out.push(
    `prunelab bench:kernels  agent ${ctx.agent}`,
    `OpenBLAS core ${ctx.openblasCore}, 1 thread (OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset)`,
    `${ctx.sampling}; all figures are medians; ${ctx.durationS.toFixed(0)} s`,
    `load average before ${ctx.loadBefore.map((x) => x.toFixed(2)).join(' ')}, after ${ctx.loadAfter.map((x) => x.toFixed(2)).join(' ')}` +
      ' (other work on the machine inflates medians, 2-thread runs most)',
    '',
    'Dense kernel vs OpenBLAS on the same GEMM (m x k x n; fc: sgemv), single thread. The agent time includes',
    'its padding/phase copy for strided or padded convs; OpenBLAS gets the GEMM operands ready-made.',
    table(
      ['layer', 'gemm', 'agent GF/s', 'agent kernel', 'OpenBLAS GF/s', 'agent speed / OpenBLAS'],
      s.blas.map((b) => [
        b.layer,
        b.gemm,
        f1(b.agentGflops),
        b.agentKernel ?? '-',
        f1(b.blasGflops),
        b.ratio === undefined ? '-' : `${f2(b.ratio)}x`,
      ]),
      2,
    ),
    '',
    "Per layer, single thread: useful GFLOP/s (kept weights only), speedup over the agent's own dense kernel,",
    'and the ideal 1/d at the density really reached.',
  );
  for (const t of s.layers) out.push('', layerSection(t));
  out.push(
    '',
    '1 vs 2 threads on large layers (medians, us)',
    table(
      ['layer', 'scheme', '1 thread', '2 threads', 'speedup'],
      s.threads.map((r) => [
        r.layer,
        r.variant,
        us(r.t1Ns),
        us(r.t2Ns),
        r.speedup === undefined ? (r.error ?? '-') : `${f2(r.speedup)}x`,
      ]),
      2,
    ),
    '',
    'Targets (each checked on every layer it names; the worst layer decides)',
  );
  for (const t of s.targets) {
    const got = t.worst === undefined ? 'nothing measured' : `worst ${f2(t.worst)}x on ${t.worstLayer}`;
    out.push(`  [${t.met ? 'met ' : 'MISS'}] ${t.target}: ${got}`);
  }
  return out.join('\n');
}
