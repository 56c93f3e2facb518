/** The case columns that the store's row queries select (export, fit, report), and a layer shape from them. */
import type { LayerShape } from '../../config/types.ts';
import type { CaseColumns } from './schema.ts';

/** The case columns of a row as read back (every query that selects CASE_COLUMNS returns these). */
export type CaseColumnValues = Readonly<CaseColumns>;

/** The columns of a layer's shape (and its op). */
export type ShapeColumns = Pick<CaseColumnValues, 'op' | 'cin' | 'cout' | 'h' | 'w' | 'k' | 'stride' | 'pad'>;

/**
 * The case columns by name, in the order exports list them. Checked both ways against CaseColumns
 * (orchestrator/store/schema.ts): a name that is not a column does not compile, nor does a column left out.
 */
export const CASE_COLUMN_NAMES = [
  'op',
  'scheme',
  'block',
  'sparsity',
  'threads',
  'backend',
  'cin',
  'cout',
  'h',
  'w',
  'k',
  'stride',
  'pad',
  'model',
  'onnx_node',
  'weights',
] as const satisfies readonly (keyof CaseColumns)[];

export type CaseColumnName = (typeof CASE_COLUMN_NAMES)[number];

// Fails to compile when CaseColumns gains a column that CASE_COLUMN_NAMES does not list.
const everyColumnListed: Exclude<keyof CaseColumns, CaseColumnName> extends never ? true : never = true;
void everyColumnListed;

/**
 * A case's parameters as the tasks table (alias `t`) keeps them: what every measurement-row query selects
 * beside its own statistics, so that export, fit and report read one set of names.
 */
export const CASE_COLUMNS = CASE_COLUMN_NAMES.map((name) => `t.${name}` as const);

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
