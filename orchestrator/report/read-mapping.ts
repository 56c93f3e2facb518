/**
 * mapping.json (written by `prunelab map`) -> the report's mapping view. Pure: the text comes in, a typed
 * ReportMapping or a ReportInputError naming the bad field goes out.
 *
 * The format is `prunelab.mapping/v1` (orchestrator/map/mapping-file.ts): per layer `name`, `scheme`,
 * `block`, `sparsity`, `proxy`, `predictedLatencyNs` and `predictedSource`; `totals`; `baselines` (latency
 * null when a uniform scheme cannot reach the mapping's proxy); `verification` after `--verify-on`;
 * `measuredTable` after `--evaluate-with` (read as written, a malformed one fails with its field). A few
 * plain aliases (`latencyNs`, `source`) are read too. A missing required field fails with its path instead
 * of rendering an empty chart.
 */
import type {
  ReportMapping,
  ReportMappingBaseline,
  ReportMappingLayer,
  ReportMeasuredTable,
} from '../../reports/types.ts';
import { ReportInputError } from './errors.ts';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function pick(object: Json, names: readonly string[]): unknown {
  for (const name of names) {
    const path = name.split('.');
    let value: unknown = object;
    for (const key of path) value = isObject(value) ? value[key] : undefined;
    if (value !== undefined) return value;
  }
  return undefined;
}

export function mappingFromJson(value: unknown, source: string): ReportMapping {
  const fail = (field: string, expected: string, found: unknown): never => {
    throw new ReportInputError(
      `${source}: ${field}: expected ${expected}, found ${JSON.stringify(found) ?? 'nothing'}. Pass a mapping.json written by \`prunelab map --out FILE\`.`,
      { path: source, option: '--mapping' },
      { kind: 'input' },
    );
  };
  if (!isObject(value)) return fail('(top level)', 'a JSON object', value);
  const text = (object: Json, names: readonly string[], where: string, fallback?: string): string => {
    const found = pick(object, names);
    if (typeof found === 'string') return found;
    if (found === undefined && fallback !== undefined) return fallback;
    return fail(`${where}${names[0]}`, 'a string', found);
  };
  const number = (object: Json, names: readonly string[], where: string): number => {
    const found = pick(object, names);
    if (typeof found === 'number' && Number.isFinite(found)) return found;
    return fail(`${where}${names[0]}`, 'a number', found);
  };
  const optionalNumber = (object: Json, names: readonly string[]): number | null => {
    const found = pick(object, names);
    return typeof found === 'number' && Number.isFinite(found) ? found : null;
  };

  // `--verify-on` keeps each layer's measured median under verification.layers, by layer name.
  const verified = new Map<string, number>();
  const verifiedLayers = pick(value, ['verification.layers']);
  for (const entry of Array.isArray(verifiedLayers) ? verifiedLayers : []) {
    if (isObject(entry) && typeof entry.name === 'string' && typeof entry.measuredNs === 'number')
      verified.set(entry.name, entry.measuredNs);
  }
  const rawLayers = pick(value, ['layers']);
  if (!Array.isArray(rawLayers) || rawLayers.length === 0)
    return fail('layers', 'a non-empty array', rawLayers);
  const layers = rawLayers.map((layer, i): ReportMappingLayer => {
    const where = `layers[${i}].`;
    if (!isObject(layer)) return fail(`layers[${i}]`, 'an object', layer);
    const block = pick(layer, ['block']);
    const name = text(layer, ['name', 'layer'], where);
    return {
      layer: name,
      scheme: text(layer, ['scheme'], where),
      block: typeof block === 'string' ? block : null,
      sparsity: number(layer, ['sparsity'], where),
      predictedNs: number(layer, ['predictedLatencyNs', 'latencyNs', 'predictedNs'], where),
      source: text(layer, ['predictedSource', 'source'], where, 'unknown'),
      measuredNs: verified.get(name) ?? optionalNumber(layer, ['measuredNs']),
      proxy: optionalNumber(layer, ['proxy', 'keptEnergy']),
    };
  });
  const rawBaselines = pick(value, ['baselines']);
  const baselines = (Array.isArray(rawBaselines) ? rawBaselines : []).flatMap(
    (b, i): ReportMappingBaseline[] => {
      const where = `baselines[${i}].`;
      if (!isObject(b)) return fail(`baselines[${i}]`, 'an object', b);
      // A baseline with a null latency could not reach the mapping's proxy at any sparsity: nothing to draw.
      if (pick(b, ['latencyNs']) === null) return [];
      return [
        {
          name: text(b, ['name', 'label'], where),
          predictedNs: number(b, ['latencyNs', 'predictedNs'], where),
          proxy: optionalNumber(b, ['proxy']),
        },
      ];
    },
  );
  const summed = layers.reduce((sum, l) => sum + l.predictedNs, 0);
  const measured = layers.every((l) => l.measuredNs !== null)
    ? layers.reduce((sum, l) => sum + (l.measuredNs ?? 0), 0)
    : null;
  return {
    source,
    model: text(value, ['model.name', 'model'], '', 'unknown model'),
    deviceId: text(value, ['lut.device.id', 'device.id', 'device'], '', 'unknown device'),
    mapper: text(value, ['mapper'], '', 'unknown'),
    layers,
    totalPredictedNs:
      optionalNumber(value, ['totals.latencyNs', 'total.latencyNs', 'predictedTotalNs']) ?? summed,
    totalMeasuredNs:
      optionalNumber(value, [
        'verification.measuredTotalNs',
        'verification.measuredNs',
        'verified.measuredNs',
      ]) ?? measured,
    proxy: optionalNumber(value, ['totals.proxy', 'proxy.value', 'proxy']),
    baselines,
    measuredTable: measuredTableOf(pick(value, ['measuredTable']), fail),
  };
}

type Fail = (field: string, expected: string, found: unknown) => never;

/** `measuredTable` (orchestrator/map/measured-table.ts) as the report shows it; absent: null. */
function measuredTableOf(value: unknown, fail: Fail): ReportMeasuredTable | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return fail('measuredTable', 'an object', value);
  const num = (object: Json, key: string, where: string): number => {
    const found = object[key];
    return typeof found === 'number' && Number.isFinite(found)
      ? found
      : fail(`${where}${key}`, 'a number', found);
  };
  const orNull = (object: Json, key: string): number | null => {
    const found = object[key];
    return typeof found === 'number' && Number.isFinite(found) ? found : null;
  };
  const rows = value.rows;
  if (!Array.isArray(rows)) return fail('measuredTable.rows', 'an array', rows);
  const data = isObject(value.data) ? value.data : {};
  const best = isObject(value.bestBaseline) ? value.bestBaseline : null;
  return {
    metric: String(value.metric),
    denseValue: num(value, 'denseValue', 'measuredTable.'),
    targetDrop: num(value, 'targetDrop', 'measuredTable.'),
    samples: typeof data.samples === 'number' ? data.samples : 0,
    dataPath: String(data.path ?? ''),
    method: String(value.method ?? ''),
    rows: rows.map((row, i) => {
      const where = `measuredTable.rows[${i}].`;
      if (!isObject(row)) return fail(`measuredTable.rows[${i}]`, 'an object', row);
      return {
        name: String(row.name),
        kind: String(row.kind),
        uniformSparsity: orNull(row, 'uniformSparsity'),
        overallSparsity: num(row, 'overallSparsity', where),
        reached: row.reached === true,
        metricValue: orNull(row, 'metricValue'),
        drop: orNull(row, 'drop'),
        predictedNs: num(row, 'predictedNs', where),
        measuredNs: orNull(row, 'measuredNs'),
        predictedSpeedupOverDense: num(row, 'predictedSpeedupOverDense', where),
        measuredSpeedupOverDense: orNull(row, 'measuredSpeedupOverDense'),
        mappingPredictedSpeedup: num(row, 'mappingPredictedSpeedup', where),
        mappingMeasuredSpeedup: orNull(row, 'mappingMeasuredSpeedup'),
        note: String(row.note ?? ''),
      };
    }),
    bestBaseline:
      best === null
        ? null
        : {
            name: String(best.name),
            predictedSpeedup: num(best, 'predictedSpeedup', 'measuredTable.bestBaseline.'),
            measuredSpeedup: orNull(best, 'measuredSpeedup'),
          },
  };
}
