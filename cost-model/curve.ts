/**
 * Latency versus density for one (shape, scheme, block, threads): measured points merged per density, made
 * non-decreasing by weighted isotonic regression, and read between knots by linear interpolation.
 *
 * Why isotonic and not a parametric curve: kernels switch code paths with density (a sparse format starts to
 * pay, a block stops fitting in cache), so no one formula fits every scheme; the only thing known for sure
 * is that keeping more weights never makes the same kernel faster. Isotonic regression changes nothing where
 * the measurements already rise and pools neighbours (weighted by their precision) where noise made them
 * fall, so the curve stays on or next to the measured points.
 */
import { isotonicNonDecreasing } from './isotonic.ts';
import type { CurveKnot, LutCurve, LutPoint } from './types.ts';

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Groups points whose densities are within `toleranceDensity` of the group's first (sorted) density. */
function groupByDensity(points: readonly LutPoint[], toleranceDensity: number): LutPoint[][] {
  const sorted = [...points].sort((a, b) => a.density - b.density);
  const groups: LutPoint[][] = [];
  for (const point of sorted) {
    const group = groups.at(-1);
    const first = group?.[0];
    if (group !== undefined && first !== undefined && point.density - first.density <= toleranceDensity) {
      group.push(point);
    } else {
      groups.push([point]);
    }
  }
  return groups;
}

interface MergedPoint {
  readonly density: number;
  readonly measuredNs: number;
  readonly lowNs: number;
  readonly highNs: number;
  readonly n: number;
}

/**
 * Repeats of one case (same density) become one knot: the median of their medians (robust to one drifted
 * run) and the envelope of their intervals (if repeats disagree, the interval says so).
 */
function merge(group: readonly LutPoint[]): MergedPoint {
  return {
    density: group.reduce((sum, p) => sum + p.density, 0) / group.length,
    measuredNs: median(group.map((p) => p.medianNs)),
    lowNs: Math.min(...group.map((p) => p.ciLowNs)),
    highNs: Math.max(...group.map((p) => p.ciHighNs)),
    n: group.reduce((sum, p) => sum + p.n, 0),
  };
}

/**
 * Inverse variance from the interval's half-width, floored at 0.1% of the median so that a degenerate
 * interval (all samples equal) cannot outweigh everything else.
 */
function precisionWeight(point: MergedPoint): number {
  const halfWidthNs = Math.max((point.highNs - point.lowNs) / 2, point.measuredNs * 1e-3);
  return 1 / (halfWidthNs * halfWidthNs);
}

/** Fits the curve of one LUT entry. `points` must not be empty. */
export function fitCurve(points: readonly LutPoint[], toleranceDensity: number): LutCurve {
  if (points.length === 0) throw new RangeError('fitCurve: no points');
  const merged = groupByDensity(points, toleranceDensity).map(merge);
  const fitted = isotonicNonDecreasing(
    merged.map((p) => p.measuredNs),
    merged.map(precisionWeight),
  );
  let maxDeviation = 0;
  const knots: CurveKnot[] = merged.map((point, i) => {
    const latencyNs = fitted[i] as number;
    maxDeviation = Math.max(maxDeviation, Math.abs(latencyNs - point.measuredNs) / point.measuredNs);
    return {
      density: point.density,
      latencyNs,
      measuredNs: point.measuredNs,
      lowNs: Math.min(point.lowNs, latencyNs),
      highNs: Math.max(point.highNs, latencyNs),
      n: point.n,
    };
  });
  return { method: 'isotonic-linear', knots, maxDeviation };
}

export type CurveReading =
  | { readonly at: 'knot'; readonly knot: CurveKnot }
  | {
      readonly at: 'between';
      readonly latencyNs: number;
      readonly lowNs: number;
      readonly highNs: number;
      readonly left: CurveKnot;
      readonly right: CurveKnot;
    }
  | { readonly at: 'below' | 'above'; readonly edge: CurveKnot };

/** Reads the curve at `density`: on a knot (within tolerance), between two knots, or outside the range. */
export function readCurve(curve: LutCurve, density: number, toleranceDensity: number): CurveReading {
  const { knots } = curve;
  let nearest: CurveKnot | undefined;
  for (const knot of knots) {
    const distance = Math.abs(knot.density - density);
    if (
      distance <= toleranceDensity &&
      (nearest === undefined || distance < Math.abs(nearest.density - density))
    ) {
      nearest = knot;
    }
  }
  if (nearest !== undefined) return { at: 'knot', knot: nearest };
  const first = knots[0];
  const last = knots.at(-1);
  if (first === undefined || last === undefined) throw new RangeError('readCurve: curve without knots');
  if (density < first.density) return { at: 'below', edge: first };
  if (density > last.density) return { at: 'above', edge: last };
  for (let i = 0; i + 1 < knots.length; i++) {
    const left = knots[i] as CurveKnot;
    const right = knots[i + 1] as CurveKnot;
    if (density >= left.density && density <= right.density) {
      const t = (density - left.density) / (right.density - left.density);
      const lerp = (a: number, b: number): number => a + t * (b - a);
      return {
        at: 'between',
        latencyNs: lerp(left.latencyNs, right.latencyNs),
        lowNs: lerp(left.lowNs, right.lowNs),
        highNs: lerp(left.highNs, right.highNs),
        left,
        right,
      };
    }
  }
  // Unreachable for sorted knots; kept so a corrupted (unsorted) curve fails loudly, not silently.
  throw new RangeError(`readCurve: knots are not sorted by density around ${density}`);
}
