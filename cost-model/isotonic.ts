/**
 * Weighted isotonic regression (non-decreasing) by the pool-adjacent-violators algorithm: the least-squares
 * fit under the order constraint. Where the input already rises it is returned unchanged, so a curve through
 * well-behaved measurements passes exactly through them. No installed library does this; it is 20 lines.
 * Reference: Barlow et al., "Statistical inference under order restrictions" (1972); de Leeuw, Hornik and
 * Mair, "Isotone optimization in R" (JSS 2009), section 2.
 */

/** `values` in the order of the abscissa; `weights` > 0. Returns the fitted values, same length. */
export function isotonicNonDecreasing(values: readonly number[], weights: readonly number[]): number[] {
  if (values.length !== weights.length) {
    throw new RangeError(`isotonic: ${values.length} values but ${weights.length} weights`);
  }
  // Blocks of pooled neighbours: mean, total weight, and how many inputs each covers.
  const means: number[] = [];
  const totals: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < values.length; i++) {
    means.push(values[i] as number);
    totals.push(weights[i] as number);
    sizes.push(1);
    while (means.length > 1 && (means.at(-2) as number) > (means.at(-1) as number)) {
      const lastMean = means.pop() as number;
      const lastTotal = totals.pop() as number;
      const lastSize = sizes.pop() as number;
      const top = means.length - 1;
      const total = (totals[top] as number) + lastTotal;
      means[top] = ((means[top] as number) * (totals[top] as number) + lastMean * lastTotal) / total;
      totals[top] = total;
      sizes[top] = (sizes[top] as number) + lastSize;
    }
  }
  return means.flatMap((mean, block) => new Array<number>(sizes[block] as number).fill(mean));
}
