/**
 * A LUT -> what its report section shows (pure): every measured knot with its prediction, and each family's
 * accuracy figures as the LUT states them.
 *
 * The scatter uses held-out predictions wherever the LUT's own accuracy figure is held-out: the family's
 * (or its pool's) chosen model kind, tile and cache sizes, refitted without the knot's shape (cost-model's
 * leaveOneShapeOut, the same procedure that produced the figure), so the picture and the number agree. Families below the LUT's
 * minimum number of shapes have no honest held-out estimate; their knots are shown as in-sample fits and
 * labelled so.
 */

import type { CurveKnot, Lut, LutEntry } from '../../cost-model/index.ts';
import {
  anchorSettingsOf,
  distinctShapes,
  familyId,
  familyOf,
  leaveOneShapeOut,
  paramsOf,
  predictCaseNs,
  type TrainingPoint,
} from '../../cost-model/index.ts';
import type { ReportLut, ReportLutPair } from '../../reports/types.ts';

/** Same rule as the fit (cost-model/fit.ts): a knot measured while the device was disturbed is not graded. */
function reliable(knot: CurveKnot, maxShare: number): boolean {
  return (knot.highNs - knot.lowNs) / knot.measuredNs <= maxShare;
}

function trainingPoints(entries: readonly LutEntry[], maxShare: number): TrainingPoint[] {
  return entries.flatMap((entry) =>
    entry.curve.knots
      .filter((knot) => reliable(knot, maxShare))
      .map((knot) => ({
        shapeKey: entry.shapeKey,
        shape: entry.shape,
        scheme: entry.scheme,
        block: entry.block,
        density: knot.density,
        latencyNs: knot.measuredNs,
      })),
  );
}

export function lutQuality(lut: Lut, source: string): ReportLut {
  const interpolation = new Map(lut.interpolation.map((i) => [familyId(i.family), i.accuracy]));
  const maxShare = lut.settings.maxTrainingIntervalShare;
  const pointsOf = (family: string) =>
    trainingPoints(
      lut.entries.filter(
        (entry) => familyId(familyOf(entry.shape, entry.scheme, entry.block, entry.threads)) === family,
      ),
      maxShare,
    );
  // Families of one pool share one model, fitted on all of their knots: its held-out figures hold the
  // pool's other shapes in, so the scatter refits on the pool too.
  const poolPoints = new Map<string, TrainingPoint[]>();
  for (const predictor of lut.predictors) {
    if (predictor.pool === undefined) continue;
    const known = poolPoints.get(predictor.pool) ?? [];
    poolPoints.set(predictor.pool, [...known, ...pointsOf(familyId(predictor.family))]);
  }
  const pairs: ReportLutPair[] = [];
  const families = lut.predictors.map((predictor) => {
    const id = familyId(predictor.family);
    const points = pointsOf(id);
    if (predictor.accuracy !== null) {
      const fitted = predictor.pool === undefined ? points : (poolPoints.get(predictor.pool) ?? points);
      // leaveOneShapeOut answers shape by shape (sorted), each shape's points in order: the same order here.
      const ordered = distinctShapes(fitted).flatMap((shape) => fitted.filter((p) => p.shapeKey === shape));
      const own = new Set(points.map((p) => p.shapeKey));
      const heldOut = leaveOneShapeOut(
        predictor.model.kind,
        paramsOf(predictor.model),
        fitted,
        anchorSettingsOf(predictor.model),
      );
      heldOut.forEach((pair, i) => {
        const point = ordered[i];
        if (!own.has(pair.shapeKey)) return;
        pairs.push({
          family: id,
          shapeKey: pair.shapeKey,
          density: point?.shapeKey === pair.shapeKey ? point.density : Number.NaN,
          predictedNs: pair.predictedNs,
          measuredNs: pair.measuredNs,
          heldOut: true,
        });
      });
    } else {
      for (const point of points) {
        pairs.push({
          family: id,
          shapeKey: point.shapeKey,
          density: point.density,
          predictedNs: predictCaseNs(predictor.model, point.shape, point.scheme, point.block, point.density),
          measuredNs: point.latencyNs,
          heldOut: false,
        });
      }
    }
    return {
      family: id,
      shapes: predictor.shapes,
      points: predictor.points,
      modelKind: `${predictor.model.kind}, tile ${predictor.model.tileFloats}${predictor.pool === undefined ? '' : `, pool ${predictor.pool}`}`,
      heldOut: predictor.accuracy?.heldOut ?? null,
      within10: predictor.accuracy?.within10 ?? null,
      mape: predictor.accuracy?.mape ?? null,
      interpolationWithin10: interpolation.get(id)?.within10 ?? null,
    };
  });
  return {
    source,
    deviceId: lut.device.id,
    deviceModel: lut.device.model ?? null,
    agentHash: lut.agentHash,
    createdAt: lut.createdAt,
    entries: lut.entries.length,
    families,
    pairs,
  };
}
