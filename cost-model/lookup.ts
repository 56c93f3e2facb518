/**
 * The mappers' view of a LUT: latency(shape, scheme, block, density, threads) with where the answer came
 * from and how sure it is. Rules, in order (README.md, "Lookup"):
 *  1. the entry of (shape, scheme, block, threads) exists and a measured density is within
 *     `settings.densityTolerance`: `measured`, the curve's value there, the measured interval;
 *  2. between two measured densities: `interpolated`, linear on the monotone curve, the interval
 *     interpolated too and widened by the family's leave-one-density-out error;
 *  3. outside the measured densities: `predicted`, the nearest measured knot scaled by the family
 *     predictor's ratio between the two densities (so the shape's own measurement anchors it), widened by
 *     the predictor's cross-validated error;
 *  4. no entry: `predicted` by the family predictor, interval from its cross-validated error; a conv family
 *     never measured borrows its pool's model (predictor.ts), with the pool's widest interval;
 *  otherwise a LutLookupError that says what to measure.
 * `dense` ignores density (it is measured at density 1 only).
 */
import { shapeKey } from '../config/shape.ts';
import type { LayerShape } from '../config/types.ts';
import { BLOCK_SCHEMES, parseBlockSize, type Scheme } from '../config/vocabulary.ts';
import { NEAR_OCTAVES, nearestOctaves } from './anchors.ts';
import { readCurve } from './curve.ts';
import { type LookupQuery, LutLookupError } from './errors.ts';
import { entryId, familyId, familyOf, lutBlock, poolKeyOf } from './family.ts';
import { predictCaseNs } from './predictor.ts';
import type { Accuracy, CurveKnot, FamilyKey, LatencyAnswer, Lut, LutEntry, LutPredictor } from './types.ts';

export interface LatencyLookup {
  readonly lut: Lut;
  latency(
    shape: LayerShape,
    scheme: Scheme,
    block: string | null | undefined,
    density: number,
    threads: number,
  ): LatencyAnswer;
}

/** [low, high] scaled by exp(-q) and exp(q): q is a 90th-percentile |ln(predicted / measured)|. */
function widen(lowNs: number, highNs: number, logError: number): [number, number] {
  return [lowNs * Math.exp(-logError), highNs * Math.exp(logError)];
}

function formatDensity(density: number): string {
  return String(Math.round(density * 10000) / 10000);
}

interface Indexed {
  readonly entries: ReadonlyMap<string, LutEntry>;
  readonly predictors: ReadonlyMap<string, LutPredictor>;
  readonly interpolation: ReadonlyMap<string, Accuracy>;
}

function index(lut: Lut): Indexed {
  return {
    entries: new Map(lut.entries.map((e) => [entryId(e.shapeKey, e.scheme, e.block, e.threads), e])),
    predictors: new Map(lut.predictors.map((p) => [familyId(p.family), p])),
    interpolation: new Map(lut.interpolation.map((i) => [familyId(i.family), i.accuracy])),
  };
}

/** The LUT indexed for lookups, and the shapes measured in each pool (for how far a query is from them). */
interface LookupIndex extends Indexed {
  readonly lut: Lut;
  readonly measuredByPool: ReadonlyMap<string, readonly LayerShape[]>;
}

/** One query, normalised: the family it falls in, its own predictor if any, and how it fails. */
interface Asked {
  readonly shape: LayerShape;
  readonly scheme: Scheme;
  readonly block: string | null;
  readonly density: number;
  readonly threads: number;
  readonly query: LookupQuery;
  readonly family: FamilyKey;
  readonly predictor: LutPredictor | undefined;
  readonly fail: (reason: ConstructorParameters<typeof LutLookupError>[0], message: string) => never;
}

function measuredShapesByPool(lut: Lut): Map<string, LayerShape[]> {
  const measuredByPool = new Map<string, LayerShape[]>();
  for (const entry of lut.entries) {
    const key = poolKeyOf(familyOf(entry.shape, entry.scheme, entry.block, entry.threads));
    const shapes = measuredByPool.get(key);
    if (shapes === undefined) measuredByPool.set(key, [entry.shape]);
    else shapes.push(entry.shape);
  }
  return measuredByPool;
}

/**
 * A family never measured (a conv with another kernel size) may borrow the model its pool shares: the
 * kernel is the same, work.ts counts the difference. No shape of it was held out, so its interval is that
 * of the pool's least accurate family.
 */
function poolPredictor(lut: Lut, family: FamilyKey): LutPredictor | undefined {
  const key = poolKeyOf(family);
  return lut.predictors
    .filter((p) => p.pool === key && p.accuracy !== null)
    .sort((a, b) => (b.accuracy?.logErrorP90 ?? 0) - (a.accuracy?.logErrorP90 ?? 0))[0];
}

/** Rules 1-3: the shape was measured under this scheme, block and threads. */
function answerFromEntry(ix: LookupIndex, asked: Asked, entry: LutEntry): LatencyAnswer {
  const { shape, scheme, block, density, threads, query, family, predictor, fail } = asked;
  const reading = readCurve(entry.curve, density, ix.lut.settings.densityTolerance);
  if (reading.at === 'knot') {
    const { knot } = reading;
    return {
      latencyNs: knot.latencyNs,
      source: 'measured',
      intervalNs: [knot.lowNs, knot.highNs],
      rule: `measured at density ${formatDensity(knot.density)} (${knot.n} samples)`,
    };
  }
  if (reading.at === 'between') {
    const logError = ix.interpolation.get(familyId(family))?.logErrorP90 ?? 0;
    return {
      latencyNs: reading.latencyNs,
      source: 'interpolated',
      intervalNs: widen(reading.lowNs, reading.highNs, logError),
      rule:
        `curve between measured densities ${formatDensity(reading.left.density)} and ` +
        `${formatDensity(reading.right.density)}` +
        (logError === 0 ? ' (no interpolation error estimate for this family: interval not widened)' : ''),
    };
  }
  const edge: CurveKnot = reading.edge;
  if (predictor?.accuracy == null) {
    const measured = entry.curve.knots.map((k) => formatDensity(k.density)).join(', ');
    return fail(
      'density-out-of-range',
      `${entryId(query.shapeKey, scheme, block, threads)} was measured at densities ${measured} only, and ` +
        `family ${familyId(family)} has no cross-validated predictor to extend the curve to ` +
        `${formatDensity(density)}. Measure sparsity ${formatDensity(1 - density)} for this layer ` +
        '(add it to sweep.sparsities), or measure at least 3 shapes of the family.',
    );
  }
  const rawRatio =
    predictCaseNs(predictor.model, shape, scheme, block, density) /
    predictCaseNs(predictor.model, shape, scheme, block, edge.density);
  // The curve is non-decreasing in density: never let a predictor quirk make lower density slower.
  const ratio = reading.at === 'below' ? Math.min(rawRatio, 1) : Math.max(rawRatio, 1);
  const logError = predictor.accuracy.logErrorP90;
  return {
    latencyNs: edge.latencyNs * ratio,
    source: 'predicted',
    intervalNs: widen(edge.lowNs * ratio, edge.highNs * ratio, logError),
    rule:
      `measured density ${formatDensity(edge.density)} scaled by the ${predictor.model.kind} predictor of ` +
      `${familyId(family)} (outside the measured densities)`,
  };
}

/**
 * A predicted answer. The interval comes from the held-out shapes as far from the measured ones as this
 * query is, when the LUT has that split: near shapes are predicted better (their neighbours' errors anchor
 * them).
 */
function predicted(
  ix: LookupIndex,
  asked: Asked,
  source: LutPredictor,
  accuracy: Accuracy,
  rule: string,
): LatencyAnswer {
  const latencyNs = predictCaseNs(source.model, asked.shape, asked.scheme, asked.block, asked.density);
  const octaves = nearestOctaves(asked.shape, ix.measuredByPool.get(poolKeyOf(source.family)) ?? []);
  const near = octaves <= NEAR_OCTAVES;
  const matched = near ? source.accuracyByDistance?.near : source.accuracyByDistance?.far;
  const where = Number.isFinite(octaves)
    ? `nearest measured shape ${octaves.toFixed(1)} octaves away`
    : 'no comparable shape measured';
  return {
    latencyNs,
    source: 'predicted',
    intervalNs: widen(latencyNs, latencyNs, matched?.logErrorP90 ?? accuracy.logErrorP90),
    rule:
      `${source.model.kind} predictor of ${rule}; ${where}` +
      (matched == null
        ? ''
        : `, interval from the held-out shapes ${near ? 'within' : 'beyond'} ${NEAR_OCTAVES} octave`),
  };
}

/** Rule 4: no entry for the shape; the family's predictor, or its pool's, or an error saying what to measure. */
function answerFromPredictor(ix: LookupIndex, asked: Asked): LatencyAnswer {
  const { lut } = ix;
  const { scheme, block, threads, query, family, predictor, fail } = asked;
  const borrowed = predictor === undefined ? poolPredictor(lut, family) : undefined;
  if (borrowed?.accuracy != null) {
    return predicted(
      ix,
      asked,
      borrowed,
      borrowed.accuracy,
      `pool ${borrowed.pool} (${borrowed.shapes} shapes; no shape of ${familyId(family)} measured: ` +
        `interval of its least accurate family, ${familyId(borrowed.family)})`,
    );
  }
  if (predictor === undefined) {
    const otherThreads = lut.predictors
      .filter(
        (p) =>
          p.family.opKind === family.opKind &&
          p.family.scheme === family.scheme &&
          p.family.block === family.block,
      )
      .map((p) => p.family.threads);
    if (otherThreads.length > 0) {
      return fail(
        'threads-not-measured',
        `family ${familyId(family)} was measured with threads ${otherThreads.join(', ')} only, not ${threads}; ` +
          `add ${threads} to sweep.threads and sweep again (thread scaling is not extrapolated).`,
      );
    }
    return fail(
      'family-not-measured',
      `the LUT for device ${lut.device.id} has no measurement of family ${familyId(family)} ` +
        `(op kind ${family.opKind}, scheme ${scheme}${block === null ? '' : `, block ${block}`}, ` +
        `threads ${threads}); sweep at least 3 layer shapes of this kind with that scheme and block.`,
    );
  }
  if (predictor.accuracy === null) {
    return fail(
      'too-few-shapes',
      `${query.shapeKey} was not measured under ${scheme}${block === null ? '' : ` ${block}`} t${threads}, and ` +
        `family ${familyId(family)} has ${predictor.shapes} measured shape(s): at least ` +
        `${lut.settings.minShapesForAccuracy} are needed to know the predictor's error. Measure this layer, ` +
        'or more shapes of the family (`prunelab fit --suggest N` lists the most useful ones).',
    );
  }
  return predicted(
    ix,
    asked,
    predictor,
    predictor.accuracy,
    `${familyId(family)} (${predictor.shapes} shapes, ` +
      `${Math.round(predictor.accuracy.within10 * 100)}% of held-out shapes within ±10%)`,
  );
}

export function createLookup(lut: Lut): LatencyLookup {
  const ix: LookupIndex = { ...index(lut), lut, measuredByPool: measuredShapesByPool(lut) };

  function latency(
    shape: LayerShape,
    scheme: Scheme,
    blockIn: string | null | undefined,
    densityIn: number,
    threads: number,
  ): LatencyAnswer {
    const block = lutBlock(scheme, blockIn);
    const density = scheme === 'dense' ? 1 : densityIn;
    const query: LookupQuery = { shapeKey: shapeKey(shape), scheme, block, density, threads };
    const family = familyOf(shape, scheme, block, threads);
    const fail = (reason: ConstructorParameters<typeof LutLookupError>[0], message: string): never => {
      throw new LutLookupError(reason, message, query, reason === 'bad-query' ? null : family);
    };
    if (!(Number.isFinite(density) && density > 0 && density <= 1)) {
      fail('bad-query', `density must be in (0, 1] (1 - sparsity); got ${densityIn}`);
    }
    if (BLOCK_SCHEMES.includes(scheme) && (block === null || parseBlockSize(block) === undefined)) {
      fail(
        'bad-query',
        `scheme ${scheme} needs a block size BRxBC such as 8x4; got ${JSON.stringify(blockIn ?? null)}`,
      );
    }
    const predictor = ix.predictors.get(familyId(family));
    const asked: Asked = { shape, scheme, block, density, threads, query, family, predictor, fail };
    const entry = ix.entries.get(entryId(query.shapeKey, scheme, block, threads));
    return entry === undefined ? answerFromPredictor(ix, asked) : answerFromEntry(ix, asked, entry);
  }

  return { lut, latency };
}
