/**
 * Report input -> the compact data block embedded in the page. Pure.
 *
 * A report must open in a couple of seconds even for a run of 200,000 measurements, so nothing raw is
 * embedded: one row per case (its median and spread, never its samples), strings replaced by indices into
 * dictionaries (a column per field, not an object per row), telemetry downsampled per device, and LUT
 * pairs capped. The page rebuilds what it shows from these columns.
 */
import type { ReportBatch, ReportInput, ReportLut, ReportMapping, ReportTelemetryPoint } from './types.ts';

/** Telemetry points kept per device: more than a chart's width in pixels gains nothing. */
export const MAX_TELEMETRY_POINTS_PER_DEVICE = 600;
/** Predicted-vs-measured pairs kept per LUT (every family keeps its accuracy figures regardless). */
export const MAX_LUT_PAIRS = 4000;
/** Batches (thermal waits) kept per device. */
export const MAX_BATCHES_PER_DEVICE = 600;

export interface EmbeddedCases {
  readonly device: number[];
  readonly shape: number[];
  readonly scheme: number[];
  /** Index into `blocks`, -1 for schemes without a block. */
  readonly block: number[];
  readonly sparsity: number[];
  readonly density: number[];
  readonly threads: number[];
  readonly medianNs: number[];
  readonly p10Ns: number[];
  readonly p90Ns: number[];
  readonly n: number[];
  readonly kernel: number[];
  /** Index into `agents`: the agent build that measured the case. */
  readonly agent: number[];
  /** Dense median / this median, on the same device, shape and threads; null without a dense measurement. */
  readonly speedup: (number | null)[];
}

export interface EmbeddedTelemetry {
  readonly device: number[];
  readonly atMs: number[];
  readonly temperatureC: (number | null)[];
  readonly frequencyMhz: (number | null)[];
}

export interface EmbeddedLayer {
  readonly model: string;
  readonly name: string;
  /** Index into `shapes`. */
  readonly shape: number;
}

/** The nightly trends, for the page's two charts (the tables are static HTML). */
export interface EmbeddedNightly {
  readonly sentinels: {
    readonly device: number;
    readonly night: string;
    readonly factor: number | null;
    readonly usable: boolean;
    readonly status: string;
  }[];
  /** Case labels, indexed by `ratios.label`. */
  readonly labels: string[];
  /** One entry per (device, night, case) with a baseline: columns, like `cases`. */
  readonly ratios: {
    readonly device: number[];
    readonly night: string[];
    readonly label: number[];
    readonly ratio: number[];
    readonly threshold: (number | null)[];
    /** 1 when the night has a finding about this case. */
    readonly flagged: number[];
    readonly sentinel: number[];
  };
}

export interface EmbeddedData {
  readonly devices: { readonly id: string; readonly label: string }[];
  readonly models: string[];
  readonly layers: EmbeddedLayer[];
  readonly shapes: string[];
  readonly schemes: string[];
  readonly blocks: string[];
  readonly kernels: string[];
  readonly agents: string[];
  readonly cases: EmbeddedCases;
  readonly telemetry: EmbeddedTelemetry;
  readonly batches: (Omit<ReportBatch, 'deviceId'> & { readonly device: number })[];
  readonly luts: ReportLut[];
  readonly mappings: ReportMapping[];
  readonly nightly: EmbeddedNightly;
  readonly sizes: {
    readonly cases: number;
    readonly telemetryIn: number;
    readonly telemetryOut: number;
    readonly batchesIn: number;
    readonly batchesOut: number;
    readonly lutPairsIn: number;
    readonly lutPairsOut: number;
  };
}

/** Interns strings: the index of each distinct value, in order of first appearance. */
class Dictionary {
  readonly values: string[] = [];
  private readonly index = new Map<string, number>();

  of(value: string): number {
    let at = this.index.get(value);
    if (at === undefined) {
      at = this.values.length;
      this.values.push(value);
      this.index.set(value, at);
    }
    return at;
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** Four significant digits: enough for a chart or a table, a third of the bytes of a full double. */
export function significant(value: number, digits = 4): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(digits));
}

function denseKey(deviceId: string, shapeKey: string, threads: number, backend: string): string {
  return `${deviceId}\u0000${shapeKey}\u0000${threads}\u0000${backend}`;
}

/** Dense median per (device, shape, threads, backend): the baseline every pruned case of that layer is compared with. */
export function denseBaselines(cases: ReportInput['cases']): Map<string, number> {
  const dense = new Map<string, number>();
  for (const c of cases) {
    if (c.scheme !== 'dense') continue;
    const key = denseKey(c.deviceId, c.shapeKey, c.threads, c.backend);
    const known = dense.get(key);
    if (known === undefined || c.medianNs < known) dense.set(key, c.medianNs);
  }
  return dense;
}

export function speedupOverDense(
  dense: ReadonlyMap<string, number>,
  c: ReportInput['cases'][number],
): number | null {
  const denseNs = dense.get(denseKey(c.deviceId, c.shapeKey, c.threads, c.backend));
  if (denseNs === undefined || c.medianNs <= 0) return null;
  return denseNs / c.medianNs;
}

/**
 * Buckets of consecutive points (in time) merged into one: mean time, hottest temperature and lowest
 * frequency of the bucket, so a throttling dip or a heat spike survives the downsampling.
 */
export function downsampleTelemetry(
  points: readonly ReportTelemetryPoint[],
  maxPerDevice: number = MAX_TELEMETRY_POINTS_PER_DEVICE,
): ReportTelemetryPoint[] {
  const byDevice = new Map<string, ReportTelemetryPoint[]>();
  for (const point of points) {
    const list = byDevice.get(point.deviceId) ?? [];
    list.push(point);
    byDevice.set(point.deviceId, list);
  }
  const out: ReportTelemetryPoint[] = [];
  for (const [deviceId, list] of byDevice) {
    list.sort((a, b) => a.atMs - b.atMs);
    if (list.length <= maxPerDevice) {
      out.push(...list);
      continue;
    }
    const bucketSize = Math.ceil(list.length / maxPerDevice);
    for (let start = 0; start < list.length; start += bucketSize) {
      const bucket = list.slice(start, start + bucketSize);
      const temperatures = bucket.map((p) => p.temperatureC).filter((t): t is number => t !== null);
      const frequencies = bucket.map((p) => p.frequencyMhz).filter((f): f is number => f !== null);
      out.push({
        deviceId,
        atMs: Math.round(bucket.reduce((sum, p) => sum + p.atMs, 0) / bucket.length),
        temperatureC: temperatures.length > 0 ? Math.max(...temperatures) : null,
        frequencyMhz: frequencies.length > 0 ? Math.min(...frequencies) : null,
      });
    }
  }
  return out;
}

/** Every k-th element so that at most `max` remain (first kept); the order is preserved. */
export function thin<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return [...items];
  const step = items.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) {
    const item = items[Math.floor(i * step)];
    if (item !== undefined) out.push(item);
  }
  return out;
}

/** `model/layer` -> [model, layer]; a name without a model goes under `(no model)`. */
function splitLayer(qualified: string): [string, string] {
  const slash = qualified.indexOf('/');
  return slash < 0 ? ['(no model)', qualified] : [qualified.slice(0, slash), qualified.slice(slash + 1)];
}

function embedLayers(input: ReportInput, shapes: Dictionary): { models: string[]; layers: EmbeddedLayer[] } {
  const shapeOfLayer = new Map<string, string>();
  for (const c of input.cases) for (const layer of c.layers) shapeOfLayer.set(layer, c.shapeKey);
  const byModel = new Map<string, string[]>();
  for (const qualified of shapeOfLayer.keys()) {
    const [model, name] = splitLayer(qualified);
    byModel.set(model, [...(byModel.get(model) ?? []), name]);
  }
  const known = Object.keys(input.modelLayers);
  const models = [
    ...known.filter((m) => byModel.has(m)),
    ...[...byModel.keys()].filter((m) => !known.includes(m)).sort(),
  ];
  const layers: EmbeddedLayer[] = [];
  for (const model of models) {
    const measured = new Set(byModel.get(model) ?? []);
    const order = input.modelLayers[model] ?? [];
    const names = [
      ...order.filter((n) => measured.has(n)),
      ...[...measured].filter((n) => !order.includes(n)),
    ];
    for (const name of names) {
      const shapeKey = shapeOfLayer.get(`${model}/${name}`);
      if (shapeKey !== undefined) layers.push({ model, name, shape: shapes.of(shapeKey) });
    }
  }
  return { models, layers };
}

function embedNightly(input: ReportInput, devices: Dictionary): EmbeddedNightly {
  const labels = new Dictionary();
  const sentinels: EmbeddedNightly['sentinels'] = [];
  const ratios: EmbeddedNightly['ratios'] = {
    device: [],
    night: [],
    label: [],
    ratio: [],
    threshold: [],
    flagged: [],
    sentinel: [],
  };
  for (const device of input.nightly) {
    const deviceIndex = devices.of(device.deviceId);
    for (const night of device.nights) {
      sentinels.push({
        device: deviceIndex,
        night: night.night,
        factor: night.sentinelFactor === null ? null : significant(night.sentinelFactor),
        usable: night.usable,
        status: night.status,
      });
      const flagged = new Set(night.findings.map((f) => f.caseLabel));
      for (const c of night.cases) {
        if (c.ratio === null) continue;
        ratios.device.push(deviceIndex);
        ratios.night.push(night.night);
        ratios.label.push(labels.of(c.caseLabel));
        ratios.ratio.push(significant(c.ratio));
        ratios.threshold.push(c.threshold === null ? null : significant(c.threshold));
        ratios.flagged.push(flagged.has(c.caseLabel) ? 1 : 0);
        ratios.sentinel.push(c.sentinel ? 1 : 0);
      }
    }
  }
  return { sentinels, labels: labels.values, ratios };
}

export function embedData(input: ReportInput): EmbeddedData {
  const devices = new Dictionary();
  const shapes = new Dictionary();
  const schemes = new Dictionary();
  const blocks = new Dictionary();
  const kernels = new Dictionary();
  const agents = new Dictionary();
  for (const device of input.devices) devices.of(device.id);

  const { models, layers } = embedLayers(input, shapes);
  const dense = denseBaselines(input.cases);
  const cases: EmbeddedCases = {
    device: [],
    shape: [],
    scheme: [],
    block: [],
    sparsity: [],
    density: [],
    threads: [],
    medianNs: [],
    p10Ns: [],
    p90Ns: [],
    n: [],
    kernel: [],
    agent: [],
    speedup: [],
  };
  for (const c of input.cases) {
    cases.device.push(devices.of(c.deviceId));
    cases.shape.push(shapes.of(c.shapeKey));
    cases.scheme.push(schemes.of(c.scheme));
    cases.block.push(c.block === null ? -1 : blocks.of(c.block));
    cases.sparsity.push(round(c.sparsity, 4));
    cases.density.push(round(c.density, 4));
    cases.threads.push(c.threads);
    cases.medianNs.push(Math.round(c.medianNs));
    cases.p10Ns.push(Math.round(c.p10Ns));
    cases.p90Ns.push(Math.round(c.p90Ns));
    cases.n.push(c.n);
    cases.kernel.push(kernels.of(c.kernel));
    cases.agent.push(agents.of(c.agentHash));
    const speedup = speedupOverDense(dense, c);
    cases.speedup.push(speedup === null ? null : significant(speedup));
  }

  const telemetryOut = downsampleTelemetry(input.telemetry);
  const telemetry: EmbeddedTelemetry = { device: [], atMs: [], temperatureC: [], frequencyMhz: [] };
  for (const point of telemetryOut) {
    telemetry.device.push(devices.of(point.deviceId));
    telemetry.atMs.push(point.atMs);
    telemetry.temperatureC.push(point.temperatureC === null ? null : round(point.temperatureC, 1));
    telemetry.frequencyMhz.push(point.frequencyMhz === null ? null : Math.round(point.frequencyMhz));
  }

  const batchesByDevice = new Map<string, ReportBatch[]>();
  for (const batch of input.batches)
    batchesByDevice.set(batch.deviceId, [...(batchesByDevice.get(batch.deviceId) ?? []), batch]);
  const batches = [...batchesByDevice.values()].flatMap((list) =>
    thin(list, MAX_BATCHES_PER_DEVICE).map(({ deviceId, ...rest }) => ({
      ...rest,
      device: devices.of(deviceId),
    })),
  );

  const luts = input.luts.map((lut) => ({
    ...lut,
    pairs: thin(lut.pairs, MAX_LUT_PAIRS).map((pair) => ({
      ...pair,
      predictedNs: significant(pair.predictedNs),
      measuredNs: significant(pair.measuredNs),
    })),
  }));
  for (const lut of luts) devices.of(lut.deviceId);
  for (const mapping of input.mappings) devices.of(mapping.deviceId);
  const nightly = embedNightly(input, devices);

  const deviceLabel = new Map([
    ...input.nightly.map((d) => [d.deviceId, `${d.model} (${d.deviceId})`] as const),
    ...input.devices.map((d) => [d.id, `${d.model} (${d.id})`] as const),
  ]);
  return {
    devices: devices.values.map((id) => ({ id, label: deviceLabel.get(id) ?? id })),
    models,
    layers,
    shapes: shapes.values,
    schemes: schemes.values,
    blocks: blocks.values,
    kernels: kernels.values,
    agents: agents.values,
    cases,
    telemetry,
    batches,
    luts,
    mappings: [...input.mappings],
    nightly,
    sizes: {
      cases: input.cases.length,
      telemetryIn: input.telemetry.length,
      telemetryOut: telemetryOut.length,
      batchesIn: input.batches.length,
      batchesOut: batches.length,
      lutPairsIn: input.luts.reduce((sum, lut) => sum + lut.pairs.length, 0),
      lutPairsOut: luts.reduce((sum, lut) => sum + lut.pairs.length, 0),
    },
  };
}
