/**
 * What a report is made from: plain data, already read from the store, LUT and mapping files by the
 * orchestrator (orchestrator/report/). The renderer never touches a file or a database.
 */

export interface ReportRun {
  readonly id: string;
  readonly status: string;
  /** ISO-8601. */
  readonly createdAt: string;
  readonly finishedAt: string | null;
  readonly host: string;
  readonly gitRevision: string | null;
  readonly configHash: string;
  /** The resolved configuration the run was planned from, pretty-printed by the renderer. */
  readonly config: unknown;
  /** Task counts by status (pending, running, done, failed, skipped). */
  readonly counts: Readonly<Record<string, number>>;
}

export interface ReportDevice {
  readonly id: string;
  readonly kind: string;
  readonly model: string;
  readonly abi: string;
  readonly buildFingerprint: string;
  readonly cpuCount: number | null;
  /** Agent builds that measured on this device in this run. */
  readonly agentHashes: readonly string[];
  /** Hosts whose processes measured on this device in this run ('not recorded' for rows from before). */
  readonly hosts: readonly string[];
  /** First and last measurement of the run on this device (ISO-8601), null when none. */
  readonly firstMeasuredAt: string | null;
  readonly lastMeasuredAt: string | null;
  /** Time the agent spent sampling, summed over the device's cases (null when the agent did not say). */
  readonly samplingMs: number | null;
  /** Time spent waiting for the device to cool before batches. */
  readonly thermalWaitMs: number;
  /** Cases measured again because their probe said they ran disturbed (lab.disturbance). */
  readonly remeasuredCases: number;
  /** Cases whose kept measurement still ran disturbed (probe over the tolerance): read them with care. */
  readonly disturbedCases: number;
  /** Times the device was lost mid-run, in order (orchestrator/scheduler/returns.ts); empty when none. */
  readonly gaps: readonly ReportDeviceGap[];
  /** What lab hygiene found (screen, charging, root, big CPUs), as recorded; null for the host. */
  readonly lab: {
    readonly screenOn: boolean | null;
    readonly charging: boolean | null;
    readonly batteryLevel: number | null;
    readonly root: string;
    readonly bigCpus: readonly number[] | null;
  } | null;
}

/** A device lost mid-run: when, why, and whether it came back (and with which build). */
export interface ReportDeviceGap {
  /** ISO-8601. */
  readonly lostAt: string;
  /** null: it did not come back within the grace. */
  readonly backAt: string | null;
  readonly reason: string;
  /** Times it was lost again while being prepared again. */
  readonly flaps: number;
  readonly fingerprintBefore: string;
  /** Different from `fingerprintBefore`: measurements before and after are not one population. */
  readonly fingerprintAfter: string | null;
}

export interface ReportAgentBuild {
  readonly hash: string;
  readonly abi: string;
  readonly compiler: string;
  readonly flags: string;
}

/** One measured case: the store's statistics of its samples (the samples themselves stay in the store). */
export interface ReportCase {
  readonly deviceId: string;
  readonly caseKey: string;
  readonly op: string;
  /** `conv 64->64 k3 s1 p1 @32x32`: the shape, as config/shape.ts writes it. */
  readonly shapeKey: string;
  readonly scheme: string;
  readonly block: string | null;
  /** Requested fraction of weights removed. */
  readonly sparsity: number;
  /** Kept weights / all weights after masking, as the agent reported it. */
  readonly density: number;
  readonly threads: number;
  /** `cpu` or `gpu`: dense baselines and speedups never cross backends. */
  readonly backend: string;
  /** Model layers (`model/layer`) that have this shape. */
  readonly layers: readonly string[];
  readonly medianNs: number;
  readonly p10Ns: number;
  readonly p90Ns: number;
  readonly ciLowNs: number;
  readonly ciHighNs: number;
  readonly n: number;
  readonly kernel: string;
  readonly agentHash: string;
  /** ISO-8601. */
  readonly measuredAt: string;
}

/** A failed case with the last reason it failed, and how many attempts it took. */
export interface ReportFailure {
  readonly deviceId: string;
  readonly caseKey: string;
  readonly caseLabel: string;
  readonly status: 'failed' | 'skipped' | 'retried';
  readonly reason: string;
  readonly message: string;
  readonly attempts: number;
  /** ISO-8601. */
  readonly at: string;
}

/** Cases the planner dropped because they cannot exist (a block that does not divide the layer), by reason. */
export interface ReportDroppedGroup {
  readonly reason: string;
  readonly count: number;
  readonly example: string;
}

/** Telemetry around one case: what the agent read before and after it. */
export interface ReportTelemetryPoint {
  readonly deviceId: string;
  /** Epoch ms of the measurement. */
  readonly atMs: number;
  /** Hottest thermal zone after the case, °C; null when the device has no readable zone. */
  readonly temperatureC: number | null;
  /** Mean current frequency of the CPUs the case ran on, MHz; null when not readable. */
  readonly frequencyMhz: number | null;
}

/** One agent call under lab hygiene: how long it waited to cool and whether its timings were flagged. */
export interface ReportBatch {
  readonly deviceId: string;
  readonly atMs: number;
  readonly batchIndex: number;
  readonly thermalWaitMs: number;
  readonly gate: string;
  readonly temperatureBeforeC: number | null;
  readonly flag: string | null;
  readonly requeued: boolean;
}

/** One (predicted, measured) pair of a LUT's predictor. */
export interface ReportLutPair {
  readonly family: string;
  readonly shapeKey: string;
  readonly density: number;
  readonly predictedNs: number;
  readonly measuredNs: number;
  /** True when the prediction came from a model that never saw this shape (leave-one-shape-out). */
  readonly heldOut: boolean;
}

export interface ReportLutFamily {
  readonly family: string;
  readonly shapes: number;
  readonly points: number;
  readonly modelKind: string;
  /** Leave-one-shape-out accuracy from the LUT; null below the LUT's minimum number of shapes. */
  readonly heldOut: number | null;
  readonly within10: number | null;
  readonly mape: number | null;
  /** Leave-one-density-out error of the curves (interpolation), when the family has interior knots. */
  readonly interpolationWithin10: number | null;
}

export interface ReportLut {
  /** The file it was read from (as given on the command line). */
  readonly source: string;
  readonly deviceId: string;
  readonly deviceModel: string | null;
  readonly agentHash: string;
  readonly createdAt: string;
  readonly entries: number;
  readonly families: readonly ReportLutFamily[];
  readonly pairs: readonly ReportLutPair[];
}

export interface ReportMappingLayer {
  readonly layer: string;
  readonly scheme: string;
  readonly block: string | null;
  readonly sparsity: number;
  readonly predictedNs: number;
  /** `measured`, `interpolated` or `predicted` (cost-model LatencySource). */
  readonly source: string;
  /** Measured on the device by `map --verify-on`, when it was verified. */
  readonly measuredNs: number | null;
  /** The accuracy proxy kept by this choice, when the mapping says. */
  readonly proxy: number | null;
}

export interface ReportMappingBaseline {
  readonly name: string;
  readonly predictedNs: number;
  readonly proxy: number | null;
}

/** One row of `prunelab map --evaluate-with`'s table: measured accuracy, predicted (and measured) latency. */
export interface ReportMeasuredRow {
  readonly name: string;
  /** dense, mapping or baseline. */
  readonly kind: string;
  /** A baseline's uniform sparsity; null for the mapping (its layers differ). */
  readonly uniformSparsity: number | null;
  readonly overallSparsity: number;
  /** False: no priced sparsity of this baseline keeps the drop within the mapping's (not compared). */
  readonly reached: boolean;
  readonly metricValue: number | null;
  readonly drop: number | null;
  readonly predictedNs: number;
  readonly measuredNs: number | null;
  readonly predictedSpeedupOverDense: number;
  readonly measuredSpeedupOverDense: number | null;
  /** This row's latency over the mapping's. */
  readonly mappingPredictedSpeedup: number;
  readonly mappingMeasuredSpeedup: number | null;
  readonly note: string;
}

export interface ReportMeasuredTable {
  /** top1 or agreement. */
  readonly metric: string;
  readonly denseValue: number;
  readonly targetDrop: number;
  readonly samples: number;
  readonly dataPath: string;
  readonly method: string;
  readonly rows: readonly ReportMeasuredRow[];
  readonly bestBaseline: {
    readonly name: string;
    readonly predictedSpeedup: number;
    readonly measuredSpeedup: number | null;
  } | null;
}

export interface ReportMapping {
  readonly source: string;
  readonly model: string;
  readonly deviceId: string;
  readonly mapper: string;
  readonly layers: readonly ReportMappingLayer[];
  readonly totalPredictedNs: number;
  readonly totalMeasuredNs: number | null;
  readonly proxy: number | null;
  readonly baselines: readonly ReportMappingBaseline[];
  /** `map --evaluate-with`: the mapping and the uniform baselines measured at equal accuracy drop. */
  readonly measuredTable: ReportMeasuredTable | null;
}

/**
 * The nightly trends, declared once: orchestrator/nightly reads them from its store keyed by case key
 * (NightlyTrend* with a `caseKey`), the report shows them with a readable case label (ReportNightly*).
 */

/** What a night found on a device: a confirmed regression or improvement, an update, lab trouble... */
export interface NightlyFindingFields {
  /** regression, improvement, device-slower, updated, unfit, lab-trouble (orchestrator/nightly). */
  readonly kind: string;
  /** Tonight's sentinel-normalised latency over the case's baseline. */
  readonly ratio: number | null;
  /** Relative change it had to exceed (0.08 = 8%); null without a baseline. */
  readonly threshold: number | null;
  readonly confirmed: boolean;
  readonly message: string;
}

/** One case of a device on one night, against its own history. */
export interface NightlyCaseFields {
  readonly sentinel: boolean;
  /** Sentinel-normalised latency over the baseline; null while the case has too little history. */
  readonly ratio: number | null;
  /** The relative change it had to exceed to be suspect (0.08 = 8%); null without a baseline. */
  readonly threshold: number | null;
}

/** One night of one device, with its findings and cases of type Finding and Case. */
export interface NightlyNightFields<Finding, Case> {
  readonly nightlyRunId: string;
  /** YYYY-MM-DD (UTC). */
  readonly night: string;
  readonly status: string;
  readonly agentHash: string;
  readonly fingerprint: string;
  /** Tonight's sentinels over their history: 1.10 = the device ran 10% slower than usual. */
  readonly sentinelFactor: number | null;
  /** Robust spread of the sentinels' repeats tonight (relative). */
  readonly sentinelSpread: number | null;
  /** False when the night was lab trouble or the device unfit for LUT production (it is in no history). */
  readonly usable: boolean;
  readonly findings: readonly Finding[];
  readonly cases: readonly Case[];
}

/** A device's last nights, of type Night. */
export interface NightlyDeviceFields<Night> {
  readonly deviceId: string;
  readonly model: string;
  /** Oldest first. */
  readonly nights: readonly Night[];
}

export interface ReportNightlyFinding extends NightlyFindingFields {
  /** The case it is about (shape | scheme block sparsity), null for a finding about the whole device. */
  readonly caseLabel: string | null;
}

export interface ReportNightlyCase extends NightlyCaseFields {
  readonly caseLabel: string;
}

export type ReportNightlyNight = NightlyNightFields<ReportNightlyFinding, ReportNightlyCase>;

export type ReportNightlyDevice = NightlyDeviceFields<ReportNightlyNight>;

/** One set of cases of a run by the model layer whose weights they were timed with. */
export interface ReportModelNode {
  readonly model: string;
  /** The ONNX node whose weights were used; null for a built-in table (seeded weights). */
  readonly node: string | null;
  /** `seeded`, or the sha256 of the model's weights file. */
  readonly weights: string;
  /** The other layers (`model/layer`) of the same shape whose time these cases stand for. */
  readonly standsFor: readonly string[];
  readonly cases: number;
}

export interface ReportInput {
  /** ISO-8601. */
  readonly generatedAt: string;
  readonly run: ReportRun;
  readonly devices: readonly ReportDevice[];
  readonly agentBuilds: readonly ReportAgentBuild[];
  readonly cases: readonly ReportCase[];
  readonly failures: readonly ReportFailure[];
  /** Failed, retried and skipped cases in the run; more than `failures` holds when the list was capped. */
  readonly failuresTotal: number;
  readonly dropped: readonly ReportDroppedGroup[];
  readonly telemetry: readonly ReportTelemetryPoint[];
  readonly batches: readonly ReportBatch[];
  readonly luts: readonly ReportLut[];
  readonly mappings: readonly ReportMapping[];
  /** Which model layer (ONNX node) each set of cases was timed with. */
  readonly modelNodes: readonly ReportModelNode[];
  /** Ordered layer names per model (`model` -> layer names), so charts keep the network's order. */
  readonly modelLayers: Readonly<Record<string, readonly string[]>>;
  /** The last nightly runs of the store, per device ("nightly trends"); empty when there were none. */
  readonly nightly: readonly ReportNightlyDevice[];
}

/** Library sources inlined into the page (read by the orchestrator; the renderer stays pure). */
export interface ReportAssets {
  readonly d3Js: string;
  readonly plotJs: string;
  /** The page's own script, bundled from reports/client/ (dist/reports/client/report-client.js). */
  readonly clientJs: string;
}
