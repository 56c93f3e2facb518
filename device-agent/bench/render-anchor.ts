/** AnchorSummary -> the ONNX Runtime sections `npm run bench:kernels` prints. Pure. */
import type { AnchorSummary, BestCell, BestTable } from './anchor.ts';
import { SPARSITIES } from './cases.ts';
import { table } from './render.ts';

const f2 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
const us = (ns: number | undefined) => (ns === undefined ? '-' : (ns / 1e3).toFixed(1));
const times = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(2)}x`);
const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`);

export interface AnchorContext {
  readonly ortVersion: string;
  /** Median of one session.run of a 1-float Relu, 1 thread: the fixed cost of a call. */
  readonly callFloorNs: number | undefined;
}

function anchorTable(s: AnchorSummary): string {
  const rows = [...s.rows]
    .sort((a, b) => a.shapeClass.localeCompare(b.shapeClass))
    .map((r) => [
      r.shapeClass,
      r.layer,
      us(r.agentT1Ns),
      us(r.blasNs),
      times(r.ratioBlas),
      us(r.ortT1Ns),
      times(r.ratioT1),
      us(r.agentT2Ns),
      us(r.ortT2Ns),
      times(r.ratioT2),
      times(r.fastestRatioT1),
      us(r.ortT1WallNs),
      pct(r.callShare),
      r.error ?? r.agentKernel ?? '',
    ]);
  return table(
    [
      'class',
      'layer',
      'agent 1t us',
      'BLAS 1t us',
      'BLAS/agent',
      'ORT 1t us',
      'ORT/agent',
      'agent 2t us',
      'ORT 2t us',
      'ORT/agent',
      'fastest 1t',
      'Node 1t us',
      'call',
      'agent kernel',
    ],
    rows,
    2,
  );
}

function bestCellText(cell: BestCell | undefined): [string, string, string] {
  if (cell?.overBest === undefined) return ['-', '-', '-'];
  return [times(cell.overBest), f2(cell.shareOfIdeal), times(cell.overOrt)];
}

function bestSection(t: BestTable): string {
  const head = `${t.layer}: best dense ${t.best ?? 'none measured'} ${us(t.bestNs)} us`;
  const header = ['scheme', ...SPARSITIES.flatMap((s) => [`${s * 100}% x best`, 'of 1/d', 'x ORT'])];
  const rows = t.rows.map((r) => [
    r.variant,
    ...SPARSITIES.flatMap((s) => bestCellText(r.cells.find((c) => c.sparsity === s))),
  ]);
  return [head, table(header, rows)].join('\n');
}

export function renderAnchor(s: AnchorSummary, ctx: AnchorContext): string {
  const out = [
    `ONNX Runtime ${ctx.ortVersion} (CPU provider; intra-op threads 1 or 2, sequential, graph optimisation all) against`,
    "the agent's dense kernel on every conv shape of vgg16-cifar10, resnet18-cifar10, resnet50-imagenet and",
    "mobilenetv2-imagenet (fc rows: the scheme tables' fc layers): the same layer as one Conv (Gemm) node, same",
    'weights and input, timed the same way (warm-up, repetitions until both counts, median), agent and ORT back to',
    "back per shape. ORT figures are ONNX Runtime's own time per run (its profiler's model_run, 1 us resolution):",
    'the library as a C/C++ caller would see it, as the agent times its own kernel. "Node 1t" is the same runs as',
    'the Node caller sees them (output bound once); "call" is a Relu over as many floats as the layer outputs,',
    `timed from Node, as a share of "Node 1t" (binding, event loop). A 1-float call costs ${us(ctx.callFloorNs)} us.`,
    'ORT/agent > 1: the agent is faster. "fastest 1t": the ratio on the fastest samples; on a shared machine the',
    "medians carry the neighbours, the fastest samples less so. BLAS: OpenBLAS sgemm on the layer's GEMM (operands",
    'ready-made, no padding or im2col), 1 thread, timed after all the shapes; none for depthwise.',
    anchorTable(s),
    '',
    'Each scheme over the BEST dense of (agent, OpenBLAS, ONNX Runtime), 1 thread: speedup, its share of 1/d',
    '(speedup x density; 1 = every removed weight became saved time), and speedup over ONNX Runtime dense.',
  ];
  for (const t of s.best) out.push('', bestSection(t));
  out.push('', 'Anchor targets');
  for (const t of s.targets) {
    const got = t.worst === undefined ? 'nothing measured' : `worst ${f2(t.worst)}x on ${t.worstLayer}`;
    out.push(`  [${t.met ? 'met ' : 'MISS'}] ${t.target}: ${got}`);
  }
  return out.join('\n');
}
