/** The layer-shape columns that the store's row queries select (export, fit, report), back as a LayerShape. */
import type { LayerShape } from '../../config/types.ts';

export interface ShapeColumns {
  readonly op: string;
  readonly cin: number | null;
  readonly cout: number | null;
  readonly h: number | null;
  readonly w: number | null;
  readonly k: number | null;
  readonly stride: number | null;
  readonly pad: number | null;
}

/**
 * A case's parameters as the tasks table (alias `t`) keeps them: what every measurement-row query selects
 * beside its own statistics, so that export, fit and report read one set of names.
 */
export const CASE_COLUMNS = [
  't.op',
  't.scheme',
  't.block',
  't.sparsity',
  't.threads',
  't.backend',
  't.cin',
  't.cout',
  't.h',
  't.w',
  't.k',
  't.stride',
  't.pad',
] as const;

/** The shape of a layer case; undefined for rows that are not layer timings (idle cases, missing columns). */
export function shapeOfColumns(row: ShapeColumns): LayerShape | undefined {
  const { op, cin, cout, h, w, k, stride, pad } = row;
  if (op !== 'conv' && op !== 'dwconv' && op !== 'fc') return undefined;
  if (
    cin === null ||
    cout === null ||
    h === null ||
    w === null ||
    k === null ||
    stride === null ||
    pad === null
  )
    return undefined;
  return { op, cin, cout, h, w, k, stride, pad };
}
