/**
 * Shapes of the validated, frozen configuration that the rest of prunelab receives.
 * The schema (config/schema.ts) turns raw YAML or flags into these, filling gaps from config/defaults.ts; nothing
 * else constructs them by hand. They live apart from the schema so the defaults can name them without a circle.
 */
import type { Backend, BlockSize, Scheme } from './vocabulary.ts';

/** One layer's geometry, the unit the agent times. FC uses cin = in, cout = out, h = w = k = stride = 1. */
export interface LayerShape {
  readonly op: 'conv' | 'dwconv' | 'fc';
  readonly cin: number;
  readonly cout: number;
  readonly h: number;
  readonly w: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
}

export interface ModelLayer {
  /** Name as in the model, e.g. `layer2.0.conv1`. */
  readonly name: string;
  readonly shape: LayerShape;
}

export interface ModelTable {
  readonly name: string;
  readonly dataset: 'cifar10' | 'imagenet';
  readonly layers: readonly ModelLayer[];
}

/** How each case is timed (README.md, "How a case is measured"). */
export interface MeasurementPolicy {
  readonly warmup: number;
  readonly minReps: number;
  readonly minTimeMs: number;
  readonly maxReps: number;
  readonly maxTimeMs: number;
}

export interface SweepSpec {
  /** Built-in table names, or paths to ONNX files (absolute once loaded: config/read.ts resolves them). */
  readonly models: readonly string[];
  readonly schemes: readonly Scheme[];
  readonly blocks: readonly BlockSize[];
  /** Fractions of weights removed; dense ignores them. */
  readonly sparsities: readonly number[];
  readonly threads: readonly number[];
  /** Where each case runs: the agent's CPU kernels, its OpenCL (GPU) kernels, or both. */
  readonly backends: readonly Backend[];
  readonly seed: number;
  /**
   * ONNX models: time every node with its own weights (true), or one node per shape whose weights stand for
   * the others (false, the default: time depends on shape and mask structure, not on which weights).
   */
  readonly perLayer: boolean;
  readonly measurement: MeasurementPolicy;
}

/** How the planner cuts a sweep into agent calls. */
export interface BatchPolicy {
  /** At most this many cases per agent call. */
  readonly maxCases: number;
  /** A batch is closed before a case that would take its estimated duration past this. */
  readonly targetMs: number;
}

export interface SweepConfig extends SweepSpec {
  readonly batch: BatchPolicy;
}

export interface HostDeviceConfig {
  readonly enabled: boolean;
}

/** Phones behind adb servers (orchestrator/transport/adb/). */
export interface AdbDevicesConfig {
  /** Use adb phones at all (false: the host and Appium only). */
  readonly enabled: boolean;
  /** adb servers to ask for devices, as `host:port` (default: the local server, 127.0.0.1:5037). */
  readonly servers: readonly string[];
  /** Start a local server that is not running (`adb -P PORT start-server`), as the adb CLI does. */
  readonly startServer: boolean;
  /** Folder on the phone for the agent and its files; the shell user may write only under /data/local/tmp. */
  readonly workDir: string;
  /** How often a lost phone is looked for (adb `devices`, and `adb connect` again for a TCP phone). */
  readonly pollMs: number;
  /** `adb connect` again a TCP phone (HOST:PORT serial) that went away. */
  readonly reconnectTcp: boolean;
}

/** Lab hygiene on phones (orchestrator/lab/): README.md, "How a case is measured". */
export interface LabConfig {
  readonly pinBigCluster: boolean;
  readonly thermal: {
    /** A batch starts once the CPU is at or below this (Tradefed: 30 °C). */
    readonly thresholdC: number;
    /** Time between readings while waiting (Tradefed: 30 s). */
    readonly pollMs: number;
    /** Longest wait before a batch starts anyway (Tradefed: 20 min). */
    readonly maxWaitMs: number;
    /** A batch that ends hotter than this is flagged. */
    readonly batchLimitC: number;
  };
  /** A batch whose pinned CPUs end below (1 - this) x their start frequency is flagged. */
  readonly freqDropTolerance: number;
  /** Measure a flagged batch once more. */
  readonly requeueFlagged: boolean;
  /** Rooted phones only: `performance` governor on the pinned CPUs during the sweep, restored after. */
  readonly lockGovernor: boolean;
  /**
   * Every device, the host too: a case whose probe (a fixed workload the agent times around it) ran more than
   * `tolerance` slower than the run's fastest is measured again, at most `remeasures` times; the calmer is kept.
   */
  readonly disturbance: {
    readonly tolerance: number;
    readonly remeasures: number;
    /** Longest wait for a calm probe before a re-measure pass starts anyway. */
    readonly calmWaitMs: number;
  };
}

/** One phone behind an Appium server (orchestrator/transport/appium/README.md): one session per entry. */
export interface AppiumDeviceConfig {
  /** Unique among the entries; part of the device id `appium:<name>:<udid or serial>`. */
  readonly name: string;
  readonly url: string;
  /** W3C capabilities of the session, e.g. platformName, appium:automationName, appium:udid. */
  readonly capabilities: Readonly<Record<string, unknown>>;
  /** Folder on the phone for the agent and the jobs' files (the shell user may write under /data/local/tmp). */
  readonly workDir: string;
  /** Longest a poll of a running command waits on the phone for it to end (also its line delivery delay). */
  readonly pollMs: number;
  /** Longest one HTTP call to the server may take; never retried (a retried call could run a batch twice). */
  readonly commandTimeoutMs: number;
}

export interface DevicesConfig {
  readonly host: HostDeviceConfig;
  readonly adb: AdbDevicesConfig;
  readonly appium: readonly AppiumDeviceConfig[];
}

export interface SchedulerConfig {
  /** Retries of a case after a transient error (FAI-PEP anchor: 3). */
  readonly retries: number;
  /** A run stops after this many failed cases in a row on one device. */
  readonly maxConsecutiveFailures: number;
  /** A case that takes longer than this is killed and recorded as failed (FAI-PEP anchor: 300 s). */
  readonly caseTimeoutMs: number;
  /** A disconnected phone's remaining cases are skipped when it is not back within this. */
  readonly disconnectGraceMs: number;
}

export interface StoreConfig {
  /** SQLite file, relative to the working directory (or a postgres:// URL, as `--db` may give). */
  readonly path: string;
  /** A PostgreSQL store shared by a lab's hosts, `postgres://user@host/db`; when set, used instead of `path`. */
  readonly url?: string | undefined;
}

/** A small fixed case measured several times through each nightly run (orchestrator/nightly/README.md). */
export interface SentinelConfig {
  readonly name: string;
  readonly op: 'conv' | 'fc';
  /** conv: input channels; fc: input features. */
  readonly cin: number;
  /** conv: output channels; fc: output features. */
  readonly cout: number;
  /** conv only: square input side and kernel size (stride 1, same padding). */
  readonly side: number;
  readonly k: number;
  readonly scheme: Scheme;
  readonly block?: string | undefined;
  readonly sparsity: number;
}

/** `prunelab nightly`: sentinels, history and the regression rule (orchestrator/nightly/README.md). */
export interface NightlyConfig {
  readonly sentinels: readonly SentinelConfig[];
  /** The sentinels run again after every this many sweep batches (and before the first, after the last). */
  readonly sentinelEveryBatches: number;
  /** Nights of history a case is compared with. */
  readonly historyNights: number;
  /** Below this many nights a case has no baseline yet: never an alarm. */
  readonly minHistoryNights: number;
  /** A case is suspect beyond k x its robust spread (1.4826 MAD of log latency ratios) ... */
  readonly noiseK: number;
  /** ... and never within this relative change (the floor of the threshold). */
  readonly minThreshold: number;
  /**
   * A device whose sentinel repeats spread more than this within one night (robust spread, 1.4826 x MAD
   * of log latencies, as a relative change) is unfit for LUT production.
   */
  readonly maxSentinelSpread: number;
  /** Lab trouble when more than this share of a night's cases failed. */
  readonly maxFailedShare: number;
  /** Confirmation rounds of a suspect (each: the current build, then the previous one when cached). */
  readonly confirmRounds: number;
  /** Device ids that must take part each night: one missing is lab trouble. */
  readonly expectDevices: readonly string[];
  /** Cron expression `prunelab nightly --every` uses when given no expression of its own. */
  readonly schedule?: string | undefined;
  /** Agent builds kept in the build cache (by hash), so a previous night's build can run again. */
  readonly keepBuilds: number;
}

export interface PrunelabConfig {
  readonly sweep: SweepConfig;
  readonly devices: DevicesConfig;
  readonly scheduler: SchedulerConfig;
  readonly lab: LabConfig;
  readonly store: StoreConfig;
  readonly nightly: NightlyConfig;
}
