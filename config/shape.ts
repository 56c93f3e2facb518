/**
 * Pure arithmetic on layer shapes: output size, MACs, the GEMM view, and a canonical text key.
 * GEMM view (README.md, device-agent/src/spec.h): a conv weight is `cout` rows x `cin*k*k` columns;
 * FC is `out` x `in` (k = 1); depthwise has one k x k kernel per channel.
 */
import type { LayerShape } from './types.ts';

/** Output side of a conv: floor((h + 2*pad - k) / stride) + 1 (PyTorch's formula, dilation 1). */
export function outputSide(side: number, k: number, stride: number, pad: number): number {
  return Math.floor((side + 2 * pad - k) / stride) + 1;
}

export function outputHeight(shape: LayerShape): number {
  return shape.op === 'fc' ? 1 : outputSide(shape.h, shape.k, shape.stride, shape.pad);
}

export function outputWidth(shape: LayerShape): number {
  return shape.op === 'fc' ? 1 : outputSide(shape.w, shape.k, shape.stride, shape.pad);
}

/** GEMM rows: filters (conv) or outputs (FC). */
export function gemmRows(shape: LayerShape): number {
  return shape.cout;
}

/** GEMM columns: cin*k*k for conv, `in` for FC, k*k for depthwise (one channel per row). */
export function gemmCols(shape: LayerShape): number {
  if (shape.op === 'fc') return shape.cin;
  if (shape.op === 'dwconv') return shape.k * shape.k;
  return shape.cin * shape.k * shape.k;
}

export function weightCount(shape: LayerShape): number {
  return gemmRows(shape) * gemmCols(shape);
}

/** Dense multiply-adds of one inference at batch 1. */
export function denseMacs(shape: LayerShape): number {
  return weightCount(shape) * outputHeight(shape) * outputWidth(shape);
}

/** Dense FLOPs of one inference (2 per multiply-add, the agent's convention). */
export function denseFlops(shape: LayerShape): number {
  return 2 * denseMacs(shape);
}

/** Canonical text of a shape, e.g. `conv 64->128 k3 s2 p1 @32x32`; equal shapes give equal keys. */
export function shapeKey(shape: LayerShape): string {
  if (shape.op === 'fc') return `fc ${shape.cin}->${shape.cout}`;
  return `${shape.op} ${shape.cin}->${shape.cout} k${shape.k} s${shape.stride} p${shape.pad} @${shape.h}x${shape.w}`;
}

/** A conv (or depthwise) shape; FC is built by `fcShape`. */
export function convShape(
  cin: number,
  cout: number,
  side: number,
  k: number,
  stride: number,
  pad: number,
): LayerShape {
  return { op: 'conv', cin, cout, h: side, w: side, k, stride, pad };
}

/** Depthwise conv: one k x k kernel per channel, cout = cin. */
export function dwconvShape(
  channels: number,
  side: number,
  k: number,
  stride: number,
  pad: number,
): LayerShape {
  return { op: 'dwconv', cin: channels, cout: channels, h: side, w: side, k, stride, pad };
}

export function fcShape(inFeatures: number, outFeatures: number): LayerShape {
  return { op: 'fc', cin: inFeatures, cout: outFeatures, h: 1, w: 1, k: 1, stride: 1, pad: 0 };
}
