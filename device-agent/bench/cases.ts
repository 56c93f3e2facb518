/**
 * What `npm run bench:kernels` measures, as data: the layers (ResNet-50's distinct 1x1 and 3x3 convs from
 * config/models, plus two FC sizes), the schemes and block sizes tried on each, and the plan lines sent to
 * the agent. Pure: no I/O.
 */
import type { PlanLine, SamplingFields } from '../../config/agent-protocol.ts';
import { RESNET50_IMAGENET } from '../../config/models/resnet50-imagenet.ts';
import {
  denseMacs,
  fcShape,
  gemmCols,
  gemmRows,
  outputHeight,
  outputWidth,
  shapeKey,
} from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import type { Scheme } from '../../config/vocabulary.ts';

/** `dw` and `other` (depthwise; the 7x7 stem) appear only among the ONNX Runtime anchor's layers (anchor-cases.ts). */
export type LayerGroup = '1x1' | '3x3' | 'fc' | 'dw' | 'other';

export interface BenchLayer {
  /** shapeKey of the layer, e.g. `conv 64->256 k1 s1 p0 @56x56`. */
  readonly key: string;
  readonly group: LayerGroup;
  readonly shape: LayerShape;
  /** Time 1 against 2 threads on this layer (the large ones). */
  readonly threadsPair: boolean;
}

/** A scheme with its block size, e.g. `bcr 8x4`; `dense` has no sparsity. */
export interface Variant {
  readonly scheme: Scheme;
  readonly block?: string;
}

export const SPARSITIES = [0.5, 0.75, 0.9] as const;
/** The sparsity of the threads comparison (the middle of the range). */
export const THREADS_SPARSITY = 0.75;

/** bcr with 4- and 8-row blocks (the targets' shapes); bc = 4 columns, which only matters for row pruning. */
const BLOCK_VARIANTS: readonly Variant[] = [
  { scheme: 'bcr', block: '4x4' },
  { scheme: 'bcr', block: '8x4' },
  { scheme: 'block-punched', block: '8x4' },
];

export function variantsFor(group: LayerGroup): readonly Variant[] {
  const common: Variant[] = [{ scheme: 'unstructured' }, { scheme: 'filter' }, { scheme: 'channel' }];
  const pattern: Variant[] = group === '3x3' ? [{ scheme: 'pattern' }] : [];
  return [...common, ...pattern, ...BLOCK_VARIANTS];
}

export function variantName(variant: Variant): string {
  return variant.block === undefined ? variant.scheme : `${variant.scheme} ${variant.block}`;
}

/** The GEMM a layer is, in OpenBLAS terms: C[m][n] = A[m][k] B[k][n] (n = 1 for fc: a GEMV). */
export function gemmShape(shape: LayerShape): { readonly m: number; readonly k: number; readonly n: number } {
  return { m: gemmRows(shape), k: gemmCols(shape), n: outputHeight(shape) * outputWidth(shape) };
}

/** Large enough that 2 threads have work to share: at least this many dense multiply-adds. */
const THREADS_MIN_MACS = 100e6;

function benchLayer(shape: LayerShape, group: LayerGroup): BenchLayer {
  return { key: shapeKey(shape), group, shape, threadsPair: denseMacs(shape) >= THREADS_MIN_MACS };
}

/**
 * ResNet-50's distinct 1x1 and 3x3 conv shapes (in model order), and FC 2048->1000 (ResNet-50's classifier,
 * 8 MB of weights) and 4096->1024 (16 MB, beyond the L2 and most phones' L3). quick: one of each group.
 */
export function benchLayers(quick: boolean): readonly BenchLayer[] {
  const seen = new Set<string>();
  const convs: BenchLayer[] = [];
  for (const { shape } of RESNET50_IMAGENET.layers) {
    if (shape.op !== 'conv' || (shape.k !== 1 && shape.k !== 3)) continue;
    const layer = benchLayer(shape, shape.k === 1 ? '1x1' : '3x3');
    if (seen.has(layer.key)) continue;
    seen.add(layer.key);
    convs.push(layer);
  }
  const fcs = [benchLayer(fcShape(2048, 1000), 'fc'), benchLayer(fcShape(4096, 1024), 'fc')];
  // FC layers are small in MACs but memory-bound: compare threads on the larger one too.
  const fcLayers = fcs.map((l, i) => (i === 1 ? { ...l, threadsPair: true } : l));
  const all = [...convs, ...fcLayers];
  if (!quick) return all;
  const pick = (group: LayerGroup) =>
    all.find((l) => l.group === group && l.threadsPair) ?? all.find((l) => l.group === group);
  return (['1x1', '3x3', 'fc'] as const).flatMap((g) => {
    const layer = pick(g);
    return layer ? [layer] : [];
  });
}

/** `anchor`: dense at 1 and 2 threads on every conv shape of the built-in models (anchor-cases.ts). */
export type CaseRole = 'scheme' | 'threads' | 'anchor';

export interface BenchCase {
  readonly id: string;
  readonly role: CaseRole;
  readonly layer: BenchLayer;
  readonly variant: Variant;
  readonly sparsity: number;
  readonly threads: number;
}

function caseId(
  role: CaseRole,
  layer: BenchLayer,
  variant: Variant,
  sparsity: number,
  threads: number,
): string {
  return `${role}: ${layer.key} | ${variantName(variant)} | ${sparsity} | t${threads}`;
}

/**
 * Every case, layer by layer (dense first, then each variant at each sparsity), then the threads pairs:
 * 1 and 2 threads back to back (their own cases, so drift between them is small).
 */
export function benchCases(layers: readonly BenchLayer[]): readonly BenchCase[] {
  const cases: BenchCase[] = [];
  const add = (role: CaseRole, layer: BenchLayer, variant: Variant, sparsity: number, threads: number) =>
    cases.push({
      id: caseId(role, layer, variant, sparsity, threads),
      role,
      layer,
      variant,
      sparsity,
      threads,
    });
  for (const layer of layers) {
    add('scheme', layer, { scheme: 'dense' }, 0, 1);
    for (const variant of variantsFor(layer.group))
      for (const sparsity of SPARSITIES) add('scheme', layer, variant, sparsity, 1);
  }
  for (const layer of layers.filter((l) => l.threadsPair)) {
    for (const variant of [{ scheme: 'dense' } as const, threadsVariant(layer.group)])
      for (const threads of [1, 2])
        add('threads', layer, variant, variant.scheme === 'dense' ? 0 : THREADS_SPARSITY, threads);
  }
  return cases;
}

/** The sparse scheme timed with 1 and 2 threads: pattern on 3x3 (its own kernel), bcr 8x4 elsewhere. */
export function threadsVariant(group: LayerGroup): Variant {
  return group === '3x3' ? { scheme: 'pattern' } : { scheme: 'bcr', block: '8x4' };
}

export function planLine(c: BenchCase, sampling: SamplingFields): PlanLine {
  const { shape } = c.layer;
  const pruning = {
    scheme: c.variant.scheme,
    sparsity: c.sparsity,
    ...(c.variant.block === undefined ? {} : { block: c.variant.block }),
  };
  const common = { id: c.id, threads: c.threads, seed: 1, ...sampling };
  if (shape.op === 'fc') return { ...common, op: 'fc', in: shape.cin, out: shape.cout, ...pruning };
  return {
    ...common,
    op: shape.op,
    cin: shape.cin,
    cout: shape.cout,
    h: shape.h,
    w: shape.w,
    k: shape.k,
    stride: shape.stride,
    pad: shape.pad,
    ...pruning,
  };
}
