/**
 * Non-negative least squares: minimise |A x - b| subject to x >= 0, by Lawson and Hanson's active-set
 * method ("Solving Least Squares Problems", 1974, chapter 23). The unconstrained solves on the passive set
 * are ml-matrix's SVD least squares, which also copes with collinear features (it drops singular
 * directions instead of blowing up). Only the active-set bookkeeping is written here.
 *
 * Why non-negative: the predictor's coefficients are costs (ns per FLOP, per byte, per index); a negative
 * one fits noise and then predicts nonsense for shapes outside the training range.
 */
import { Matrix, SVD } from 'ml-matrix';

export interface NnlsResult {
  readonly x: number[];
  readonly iterations: number;
}

function solvePassive(a: Matrix, b: Matrix, passive: readonly boolean[]): number[] {
  const columns = passive.flatMap((on, j) => (on ? [j] : []));
  const x = new Array<number>(passive.length).fill(0);
  if (columns.length === 0) return x;
  const sub = a.subMatrixColumn(columns);
  const solution = new SVD(sub, { autoTranspose: true }).solve(b);
  columns.forEach((column, i) => {
    x[column] = solution.get(i, 0);
  });
  return x;
}

function gradient(a: Matrix, b: Matrix, x: readonly number[]): number[] {
  const residual = Matrix.sub(b, a.mmul(Matrix.columnVector([...x])));
  return a.transpose().mmul(residual).getColumn(0);
}

/**
 * `rows` are the rows of A. Columns are scaled to unit norm inside (a feature in FLOPs and one in bytes
 * differ by orders of magnitude) and the answer is scaled back, so x is in the caller's units.
 */
export function nnls(
  rows: readonly (readonly number[])[],
  b: readonly number[],
  maxIterations = 200,
): NnlsResult {
  const n = rows[0]?.length ?? 0;
  if (rows.length !== b.length) throw new RangeError(`nnls: ${rows.length} rows but ${b.length} targets`);
  const raw = new Matrix(rows.map((row) => [...row]));
  const norms = Array.from({ length: n }, (_, j) => raw.getColumnVector(j).norm());
  const scaled = new Matrix(
    rows.map((row) => row.map((value, j) => (norms[j] === 0 ? 0 : value / (norms[j] as number)))),
  );
  const target = Matrix.columnVector([...b]);
  const tolerance = 1e-10 * Math.max(1, target.norm());

  const passive = new Array<boolean>(n).fill(false);
  let x = new Array<number>(n).fill(0);
  let w = gradient(scaled, target, x);
  let iterations = 0;
  for (;;) {
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (!passive[j] && (norms[j] as number) > 0 && (w[j] as number) > tolerance) {
        if (best < 0 || (w[j] as number) > (w[best] as number)) best = j;
      }
    }
    if (best < 0 || iterations >= maxIterations) break;
    passive[best] = true;
    iterations++;
    for (;;) {
      const s = solvePassive(scaled, target, passive);
      const violating = s.flatMap((value, j) => (passive[j] && value <= 0 ? [j] : []));
      if (violating.length === 0) {
        x = s;
        break;
      }
      // Step from x toward s until the first passive coefficient reaches zero, then release it.
      let alpha = Number.POSITIVE_INFINITY;
      for (const j of violating) {
        const xj = x[j] as number;
        const step = xj - (s[j] as number);
        alpha = Math.min(alpha, step > 0 ? xj / step : 0);
      }
      x = x.map((xj, j) => xj + alpha * ((s[j] as number) - xj));
      for (let j = 0; j < n; j++) {
        if (passive[j] && (x[j] as number) <= tolerance) {
          passive[j] = false;
          x[j] = 0;
        }
      }
      iterations++;
      if (iterations >= maxIterations) break;
    }
    w = gradient(scaled, target, x);
  }
  return { x: x.map((value, j) => (norms[j] === 0 ? 0 : value / (norms[j] as number))), iterations };
}
