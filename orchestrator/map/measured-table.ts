/**
 * `prunelab map --evaluate-with DATA`: the paper's table, measured. The final mapping and every uniform
 * baseline (dense; all unstructured; all bcr and all block-punched per block; pattern where possible) are
 * pruned with the same masks as `prunelab prune` (applied in memory) and evaluated FOR REAL with ONNX Runtime
 * on DATA (orchestrator/evaluate/comparison.ts). Each baseline is compared at the mapping's measured drop:
 *
 *  - its sparsity is searched by bisection over the sparsities the LUT priced for it (the only points whose
 *    latency is a LUT price, not an extrapolation), assuming its measured drop does not fall as sparsity rises;
 *  - the row is the HIGHEST priced sparsity whose measured drop is <= the mapping's (the fastest baseline at
 *    least as accurate as the mapping), with the first priced sparsity that loses more beside it (`next`);
 *    no latency is interpolated between LUT points: every row's accuracy was measured at that very row.
 *
 * Latencies are the LUT's predictions (summed per layer), and with --verify-on the device's measurement of each
 * row through verify.ts's exported function (the same call as the mapping's verification).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  type BaselineSpec,
  type LayerCandidates,
  measuredBaselineSpecs,
  totals,
  uniformChoice,
  uniformSparsities,
} from '../../cost-model/index.ts';
import { type Comparison, metricValue, openComparison } from '../evaluate/comparison.ts';
import type { Metrics } from '../evaluate/metrics.ts';
import { parseOnnxModel } from '../models/onnx.ts';
import { modelPruning } from '../prune/model-masks.ts';
import { prunedOnnxBytes } from '../prune/outputs.ts';
import type { MappingForPruning } from '../prune/read-mapping.ts';
import { MAPPING_SCHEMA, type MappedLayer, type MapResult, mappedLayers } from './compute.ts';
import { type BareRow, bestBaselineRow, type TableRow, withSpeedups } from './table-rows.ts';

export const TABLE_METHOD =
  'each row pruned with the masks of `prunelab prune` and evaluated with ONNX Runtime on the data; a baseline ' +
  "is the highest LUT-priced uniform sparsity whose measured drop is <= the mapping's (bisection over the priced " +
  'sparsities, assuming drop does not fall as sparsity rises; no interpolation: `next` is the first priced ' +
  'sparsity that loses more); latencies are LUT predictions (measured: --verify-on)';

export interface MeasuredTable {
  readonly method: string;
  readonly data: { readonly path: string; readonly sha256: string; readonly samples: number };
  /**
   * The data against the sensitivity file's (--sensitivity): `same` means the drops that chose the mapping
   * were measured on the data that judges it, so its measured drop is optimistic for unseen data.
   */
  readonly sensitivityData: 'same' | 'other' | null;
  readonly metric: 'top1' | 'agreement';
  readonly denseValue: number;
  /** The mapping's measured drop: the target every baseline is compared at. */
  readonly targetDrop: number;
  readonly rows: readonly TableRow[];
  readonly bestBaseline: {
    readonly name: string;
    readonly predictedSpeedup: number;
    readonly measuredSpeedup: number | null;
  } | null;
}

export interface TableRequest {
  readonly modelPath: string;
  readonly dataPath: string;
  readonly result: MapResult;
  readonly model: { readonly name: string; readonly sha256: string };
  /** sha256 of the data the sensitivity file was measured on (--sensitivity), to say whether it is this data. */
  readonly sensitivityDataSha256?: string;
  readonly threads: number;
  /** Measured total latency of a set of mapped layers on the --verify-on device (absent: not measured). */
  readonly measureLatencyNs?: (layers: readonly MappedLayer[]) => Promise<number>;
  /** The mapping's own measured latency when --verify-on already ran it. */
  readonly mappingMeasuredNs?: number;
  readonly note?: (text: string) => void;
}

interface Evaluated {
  readonly metrics: Metrics;
  readonly value: number;
  readonly drop: number;
}

/** Prunes the model in memory with one choice per layer and measures it. */
function evaluator(request: TableRequest, comparison: Comparison, modelBytes: Uint8Array) {
  const model = parseOnnxModel(modelBytes, request.modelPath);
  return async (layers: readonly MappedLayer[], label: string): Promise<Evaluated> => {
    const mapping: MappingForPruning = {
      schema: MAPPING_SCHEMA,
      model: { name: request.model.name, source: 'onnx', sha256: request.model.sha256 },
      layers: layers.map((l) => ({
        name: l.name,
        shapeKey: l.shapeKey,
        scheme: l.scheme,
        block: l.block,
        sparsity: l.sparsity,
      })),
      unpriced: request.result.unpriced.map((u) => ({ name: u.name, reason: u.reason })),
    };
    const pruning = modelPruning(model, mapping, {
      model: request.modelPath,
      mapping: label,
      modelSha256: request.model.sha256,
    });
    const metrics = await comparison.measure(prunedOnnxBytes(modelBytes, pruning, request.modelPath), label);
    const value = metricValue(metrics, comparison.metric);
    return { metrics, value, drop: comparison.denseValue - value };
  };
}

/** The largest index whose probe holds, assuming probes hold up to some index and fail after (-1: none). */
export async function lastHolding(
  count: number,
  holds: (index: number) => Promise<boolean>,
): Promise<number> {
  let low = -1;
  let high = count;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (await holds(mid)) low = mid;
    else high = mid;
  }
  return low;
}

/** Indices into each priced layer's options of a row's per-layer choices (same layer order). */
function choiceOf(
  priced: readonly LayerCandidates[],
  layers: readonly { scheme: string; block: string | null; sparsity: number }[],
): number[] {
  return layers.map((l, i) => {
    const index = (priced[i] as LayerCandidates).options.findIndex(
      (o) => o.scheme === l.scheme && o.block === l.block && Math.abs(o.sparsity - l.sparsity) < 1e-9,
    );
    if (index < 0)
      throw new Error(`layer ${priced[i]?.name}: ${l.scheme} @${l.sparsity} is not a priced option`);
    return index;
  });
}

function rowOf(
  name: string,
  kind: TableRow['kind'],
  spec: BaselineSpec | null,
  layers: readonly MappedLayer[],
  priced: readonly LayerCandidates[],
  evaluated: Evaluated,
): BareRow {
  const t = totals(priced, choiceOf(priced, layers));
  return {
    name,
    kind,
    scheme: spec?.scheme ?? null,
    block: spec?.block ?? null,
    uniformSparsity: null,
    overallSparsity: t.sparsity,
    layersPruned: layers.filter((l) => l.scheme !== 'dense').length,
    reached: true,
    metricValue: evaluated.value,
    drop: evaluated.drop,
    top1: evaluated.metrics.top1,
    agreement: evaluated.metrics.agreement,
    meanRelativeError: evaluated.metrics.meanRelativeError,
    predictedNs: t.latencyNs,
    measuredNs: null,
    next: null,
    probes: [],
    layers: layers.map((l) => ({ name: l.name, scheme: l.scheme, block: l.block, sparsity: l.sparsity })),
    note: '',
  };
}

/** One uniform baseline at the target drop: bisection over its priced sparsities. */
async function baselineRow(
  spec: BaselineSpec,
  priced: readonly LayerCandidates[],
  targetDrop: number,
  evaluate: ReturnType<typeof evaluator>,
): Promise<BareRow | null> {
  const sparsities = uniformSparsities(priced, spec);
  if (sparsities.length === 0) return null;
  const seen = new Map<number, { layers: MappedLayer[]; evaluated: Evaluated }>();
  const probe = async (index: number) => {
    const known = seen.get(index);
    if (known !== undefined) return known;
    const layers = mappedLayers(priced, uniformChoice(priced, spec, sparsities[index] as number).choice);
    const evaluated = await evaluate(layers, `${spec.name} @${sparsities[index]}`);
    seen.set(index, { layers, evaluated });
    return { layers, evaluated };
  };
  // 1e-12: drops are differences of counts over the same sample count, equal values compare equal.
  const found = await lastHolding(
    sparsities.length,
    async (i) => (await probe(i)).evaluated.drop <= targetDrop + 1e-12,
  );
  const probes = [...seen.entries()]
    .sort(([a], [b]) => a - b)
    .map(([i, p]) => ({ sparsity: sparsities[i] as number, drop: p.evaluated.drop }));
  const nextIndex = found + 1 < sparsities.length ? found + 1 : undefined;
  const next = nextIndex === undefined ? undefined : seen.get(nextIndex);
  const shown =
    found >= 0 ? (seen.get(found) as { layers: MappedLayer[]; evaluated: Evaluated }) : await probe(0);
  const row = rowOf(spec.name, 'baseline', spec, shown.layers, priced, shown.evaluated);
  const nextRow =
    next === undefined || nextIndex === undefined
      ? null
      : {
          sparsity: sparsities[nextIndex] as number,
          drop: next.evaluated.drop,
          predictedNs: rowOf(spec.name, 'baseline', spec, next.layers, priced, next.evaluated).predictedNs,
        };
  return {
    ...row,
    uniformSparsity: sparsities[Math.max(0, found)] as number,
    reached: found >= 0,
    next: nextRow,
    probes,
    note:
      found < 0
        ? `even its lowest priced sparsity ${sparsities[0]} loses more than the mapping: not compared`
        : nextIndex === undefined
          ? `its highest priced sparsity ${sparsities[found]} stays within the mapping's drop`
          : `highest priced sparsity within the mapping's drop (${sparsities[nextIndex]} loses ${next?.evaluated.drop.toFixed(4)})`,
  };
}

async function sha256Of(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Evaluates the mapping and every uniform baseline at its measured drop; latencies measured when asked. */
export async function measuredTable(request: TableRequest): Promise<MeasuredTable> {
  const { result } = request;
  const modelBytes = await readFile(request.modelPath);
  const comparison = await openComparison({
    modelPath: request.modelPath,
    dataPath: request.dataPath,
    dataOption: '--evaluate-with',
    batchSize: 32,
    threads: request.threads,
  });
  const evaluate = evaluator(request, comparison, modelBytes);
  const denseLayers = mappedLayers(
    result.priced,
    result.priced.map(() => 0),
  );
  request.note?.(
    `map: evaluating the mapping and ${result.priced.length}-layer uniform baselines on ${request.dataPath}...\n`,
  );
  const mapping = rowOf(
    'mapping',
    'mapping',
    null,
    result.layers,
    result.priced,
    await evaluate(result.layers, 'the mapping'),
  );
  const dense = rowOf(
    'all dense',
    'dense',
    { name: 'all dense', scheme: 'dense', block: null },
    denseLayers,
    result.priced,
    await evaluate(denseLayers, 'all dense'),
  );
  const rows: BareRow[] = [{ ...dense, uniformSparsity: 0, note: 'the speed reference' }, mapping];
  const targetDrop = mapping.drop as number;
  for (const spec of measuredBaselineSpecs(result.settings.schemes, result.settings.blocks)) {
    if (spec.scheme === 'dense') continue;
    const row = await baselineRow(spec, result.priced, targetDrop, evaluate);
    if (row !== null) rows.push(row);
  }
  const measured = await measureRows(request, rows);
  const withSpeed = withSpeedups(measured);
  const sha256 = await sha256Of(request.dataPath);
  return {
    method: TABLE_METHOD,
    data: { path: request.dataPath, sha256, samples: comparison.samples },
    sensitivityData:
      request.sensitivityDataSha256 === undefined
        ? null
        : request.sensitivityDataSha256 === sha256
          ? 'same'
          : 'other',
    metric: comparison.metric,
    denseValue: comparison.denseValue,
    targetDrop,
    rows: withSpeed,
    bestBaseline: bestBaselineRow(withSpeed),
  };
}

/** --verify-on: each row's layers timed on the device (the mapping's own verification reused). */
async function measureRows(request: TableRequest, rows: readonly BareRow[]): Promise<BareRow[]> {
  const measure = request.measureLatencyNs;
  if (measure === undefined) return [...rows];
  const out: BareRow[] = [];
  for (const row of rows) {
    if (row.kind === 'mapping' && request.mappingMeasuredNs !== undefined) {
      out.push({ ...row, measuredNs: request.mappingMeasuredNs });
      continue;
    }
    if (!row.reached) {
      out.push(row);
      continue;
    }
    const layers = mappedLayers(request.result.priced, choiceOf(request.result.priced, row.layers));
    out.push({ ...row, measuredNs: await measure(layers) });
  }
  return out;
}
