/**
 * A LUT -> what its report section shows (pure): every measured knot with its prediction, and each family's
 * accuracy figures as the LUT states them.
 *
 * The scatter uses held-out predictions wherever the LUT's own accuracy figure is held-out: the family's
 * chosen model kind and tile, refitted without the knot's shape (cost-model's leaveOneShapeOut, the same
 * procedure that produced the figure), so the picture and the number agree. Families below the LUT's
 * minimum number of shapes have no honest held-out estimate; their knots are shown as in-sample fits and
 * labelled so.
 */
import { familyId, familyOf } from '../../cost-model/family.ts';
import {
  distinctShapes,
  leaveOneShapeOut,
  predictCaseNs,
  type TrainingPoint,
} from '../../cost-model/predictor.ts';
import type { CurveKnot, Lut, LutEntry } from '../../cost-model/types.ts';
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
  const pairs: ReportLutPair[] = [];
  const families = lut.predictors.map((predictor) => {
    const id = familyId(predictor.family);
    const members = lut.entries.filter(
      (entry) => familyId(familyOf(entry.shape, entry.scheme, entry.block, entry.threads)) === id,
    );
    const points = trainingPoints(members, lut.settings.maxTrainingIntervalShare);
    if (predictor.accuracy !== null) {
      // leaveOneShapeOut answers shape by shape (sorted), each shape's points in order: the same order here.
      const ordered = distinctShapes(points).flatMap((shape) => points.filter((p) => p.shapeKey === shape));
      const heldOut = leaveOneShapeOut(predictor.model.kind, predictor.model.tileFloats, points);
      heldOut.forEach((pair, i) => {
        const point = ordered[i];
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
      modelKind: `${predictor.model.kind}, tile ${predictor.model.tileFloats}`,
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
