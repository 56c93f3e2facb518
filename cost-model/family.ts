/**
 * Keys of the LUT: which entry (shape, scheme, block, threads) and which predictor family (op kind, scheme,
 * block, threads) a case belongs to. Pure.
 */
import { shapeKey } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { BLOCK_SCHEMES, type Scheme } from '../config/vocabulary.ts';
import type { FamilyKey, OpKind } from './types.ts';

/** The kernel path a shape takes: 1x1 and 3x3 convolutions have their own kernels in the agent. */
export function opKindOf(shape: LayerShape): OpKind {
  if (shape.op === 'fc') return 'fc';
  if (shape.op === 'dwconv') return 'dwconv';
  if (shape.k === 1) return 'conv1x1';
  if (shape.k === 3) return 'conv3x3';
  return 'convKxK';
}

/** The block as the LUT keys it: the `BRxBC` text for block schemes, null for the others (they ignore it). */
export function lutBlock(scheme: Scheme, block: string | null | undefined): string | null {
  if (!BLOCK_SCHEMES.includes(scheme)) return null;
  return block ?? null;
}

export function familyOf(
  shape: LayerShape,
  scheme: Scheme,
  block: string | null,
  threads: number,
): FamilyKey {
  return { opKind: opKindOf(shape), scheme, block: lutBlock(scheme, block), threads };
}

/** `conv3x3 bcr 8x4 t1`: a family in messages and map keys. */
export function familyId(family: FamilyKey): string {
  return `${family.opKind} ${family.scheme}${family.block === null ? '' : ` ${family.block}`} t${family.threads}`;
}

/**
 * The predictor pool a family trains in (predictor.ts): conv families of one scheme, block and thread count
 * run the same kernel code whatever the kernel size (the padded view turns every tap into a shifted run of
 * the input; work.ts counts what differs), so they share one model, `conv bcr 8x4 t1`. Dense is the
 * exception: the agent times three kernels per layer and keeps the fastest (layer.c, prepare_dense_conv), and
 * 1x1 and 3x3 layers pick differently (on the benchmark, pooling them cost the 1x1 family 14 points within
 * ±10%; still 6 since work.ts counts the engine picked). Dense, depthwise, pattern (3x3 only) and FC families
 * are pools of their own, named as the family.
 */
export function poolKeyOf(family: FamilyKey): string {
  const conv = family.opKind === 'conv1x1' || family.opKind === 'conv3x3' || family.opKind === 'convKxK';
  if (!conv || family.scheme === 'pattern' || family.scheme === 'dense') return familyId(family);
  return `conv ${family.scheme}${family.block === null ? '' : ` ${family.block}`} t${family.threads}`;
}

/** `conv 64->64 k3 s1 p1 @32x32 | bcr 8x4 | t1`: one LUT entry. */
export function entryId(
  shape: LayerShape | string,
  scheme: Scheme,
  block: string | null,
  threads: number,
): string {
  const key = typeof shape === 'string' ? shape : shapeKey(shape);
  return `${key} | ${scheme}${block === null ? '' : ` ${block}`} | t${threads}`;
}
