/**
 * Accuracy metrics of a candidate (pruned) model against labels and against the dense model's own outputs.
 * Pure: batches of outputs in, running totals, then the figures out.
 *
 * - top-1 / top-5: the label is the highest output / among the 5 highest (ties: the lower class index ranks
 *   first, as numpy's argmax does). Only with labels.
 * - the dense model's own top-1 / top-5 on the same labels, for the drop.
 * - agreement: the share of samples whose candidate top-1 equals the dense model's top-1 (label-free).
 * - mean relative output error: per sample ||y - y_dense||_2 / ||y_dense||_2, averaged (label-free; a sample
 *   whose dense output is all zeros counts 0 when the candidate's is too, else 1).
 */

export interface MetricTotals {
  samples: number;
  top1Correct: number;
  top5Correct: number;
  denseTop1Correct: number;
  denseTop5Correct: number;
  labelled: number;
  agree: number;
  relativeErrorSum: number;
}

export interface Metrics {
  readonly samples: number;
  /** null without labels. */
  readonly top1: number | null;
  readonly top5: number | null;
  /** The dense model's own top-1 and top-5 on the same labels (null without labels). */
  readonly denseTop1: number | null;
  readonly denseTop5: number | null;
  readonly agreement: number;
  readonly meanRelativeError: number;
}

export function emptyTotals(): MetricTotals {
  return {
    samples: 0,
    top1Correct: 0,
    top5Correct: 0,
    denseTop1Correct: 0,
    denseTop5Correct: 0,
    labelled: 0,
    agree: 0,
    relativeErrorSum: 0,
  };
}

/** Indices of the k largest values of row, largest first (ties: lower index first). */
export function topK(row: ArrayLike<number>, k: number): number[] {
  const best: number[] = [];
  for (let i = 0; i < row.length; i++) {
    const v = row[i] as number;
    let at = best.length;
    while (at > 0 && v > (row[best[at - 1] as number] as number)) at--;
    if (at < k) {
      best.splice(at, 0, i);
      if (best.length > k) best.pop();
    }
  }
  return best;
}

export function relativeError(candidate: ArrayLike<number>, dense: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < dense.length; i++) {
    const d = dense[i] as number;
    const e = (candidate[i] as number) - d;
    diff += e * e;
    norm += d * d;
  }
  if (norm === 0) return diff === 0 ? 0 : 1;
  return Math.sqrt(diff / norm);
}

/**
 * Adds one batch: `candidate` and `dense` are [batch x classes] row-major; `labels` one per sample or null.
 * Mutates and returns `totals`.
 */
export function addBatch(
  totals: MetricTotals,
  candidate: ArrayLike<number>,
  dense: ArrayLike<number>,
  classes: number,
  labels: ArrayLike<number> | null,
): MetricTotals {
  if (candidate.length !== dense.length || dense.length % classes !== 0) {
    throw new RangeError(
      `expected two [batch x ${classes}] outputs of equal size, got ${candidate.length} and ${dense.length} values`,
    );
  }
  const batch = dense.length / classes;
  if (labels !== null && labels.length !== batch)
    throw new RangeError(`expected ${batch} labels, got ${labels.length}`);
  const row = (values: ArrayLike<number>, i: number) =>
    Array.prototype.slice.call(values, i * classes, (i + 1) * classes) as number[];
  for (let i = 0; i < batch; i++) {
    const c = row(candidate, i);
    const d = row(dense, i);
    const ranked = topK(c, Math.min(5, classes));
    const denseRanked = topK(d, Math.min(5, classes));
    if (ranked[0] === denseRanked[0]) totals.agree++;
    totals.relativeErrorSum += relativeError(c, d);
    if (labels !== null) {
      const label = labels[i] as number;
      totals.labelled++;
      if (ranked[0] === label) totals.top1Correct++;
      if (ranked.includes(label)) totals.top5Correct++;
      if (denseRanked[0] === label) totals.denseTop1Correct++;
      if (denseRanked.includes(label)) totals.denseTop5Correct++;
    }
    totals.samples++;
  }
  return totals;
}

export function finishMetrics(totals: MetricTotals): Metrics {
  const n = totals.samples;
  return {
    samples: n,
    top1: totals.labelled > 0 ? totals.top1Correct / totals.labelled : null,
    top5: totals.labelled > 0 ? totals.top5Correct / totals.labelled : null,
    denseTop1: totals.labelled > 0 ? totals.denseTop1Correct / totals.labelled : null,
    denseTop5: totals.labelled > 0 ? totals.denseTop5Correct / totals.labelled : null,
    agreement: n > 0 ? totals.agree / n : 0,
    meanRelativeError: n > 0 ? totals.relativeErrorSum / n : 0,
  };
}
