/**
 * Embedded defaults: what `npx prunelab sweep` does with no config file and no phone, and the value of
 * every field a config file leaves out. Pure data; config/schema.ts applies it.
 */
import type {
  AdbDevicesConfig,
  AppiumDeviceConfig,
  LabConfig,
  MeasurementPolicy,
  NightlyConfig,
  PrunelabConfig,
  SchedulerConfig,
  SweepConfig,
} from './types.ts';
import { SCHEMES } from './vocabulary.ts';

/**
 * Lab anchors (README.md, "How a case is measured"): 2 warm-up runs, then at least 10 repetitions AND 100 ms (TFLite's benchmark_model
 * makes 50 runs and 1 s per whole model; one layer is far shorter and a sweep times hundreds of cases).
 * maxTimeMs caps a case whose layer is slower than expected (a throttled phone, a naive kernel) at 1 s,
 * warm-up included (the agent's own default is 10 s), so one case cannot stall a batch and the ~400 cases
 * of the default sweep stay under 10 minutes even if every kernel were 10x slower than the planner
 * assumes. maxReps bounds the size of a result line.
 */
export const DEFAULT_MEASUREMENT: MeasurementPolicy = {
  warmup: 2,
  minReps: 10,
  minTimeMs: 100,
  maxReps: 10_000,
  maxTimeMs: 1_000,
};

/**
 * The embedded default sweep: every scheme over the ResNet-18 CIFAR-10 layers (12 distinct shapes),
 * single thread, three sparsities and four block sizes.
 * Blocks: 4x1 and 8x1 are the column blocks (4 or 8 filters sharing one list of kept columns) that gave
 * the best sparse speedups on this kind of CPU (device-agent/bench/README.md); 4x4 and 8x4 are the square-ish
 * blocks of the paper's block-based scheme. All divide the 64-512 filters and the cin*k*k columns of
 * every ResNet-18 conv except the 3-channel stem (x4 blocks dropped there) and the 10-output FC (4- and
 * 8-row blocks dropped there); the planner lists those drops with their reasons.
 * Duration: `planSweep` on this sweep estimates well under 10 minutes at a deliberately pessimistic
 * 2 GFLOP/s (orchestrator/plan/estimate.ts); config/defaults.test.ts keeps it so.
 */
export const DEFAULT_SWEEP: SweepConfig = {
  models: ['resnet18-cifar10'],
  schemes: [...SCHEMES],
  blocks: [
    { rows: 4, cols: 1 },
    { rows: 8, cols: 1 },
    { rows: 4, cols: 4 },
    { rows: 8, cols: 4 },
  ],
  sparsities: [0.5, 0.75, 0.9],
  threads: [1],
  backends: ['cpu'],
  seed: 1,
  perLayer: false,
  measurement: DEFAULT_MEASUREMENT,
  // 100 cases or about 20 s per agent call: few calls (each costs a process start or a round trip over
  // adb), yet a crash or a Ctrl-C loses at most one short batch.
  batch: { maxCases: 100, targetMs: 20_000 },
};

/** FAI-PEP anchors (README.md): 3 retries, 300 s timeouts; a device is given up after a few misses. */
export const DEFAULT_SCHEDULER: SchedulerConfig = {
  retries: 3,
  maxConsecutiveFailures: 5,
  caseTimeoutMs: 300_000,
  // FAI-PEP drops a device after 3 missed checks; 5 minutes leaves time to replug a cable.
  disconnectGraceMs: 300_000,
};

/** The local adb server on its usual port, started when not running, as the adb CLI does. */
export const DEFAULT_ADB: AdbDevicesConfig = {
  enabled: true,
  servers: ['127.0.0.1:5037'],
  startServer: true,
  workDir: '/data/local/tmp/prunelab',
  pollMs: 1_000,
  reconnectTcp: true,
};

/**
 * Tradefed's thermal gate (README.md's anchors): wait for <= 30 °C, poll every 30 s, give up waiting after
 * 20 min. A batch ending above 45 °C (where phones commonly start throttling) or with its pinned CPUs more
 * than 10% slower than at its start is flagged and measured once more.
 */
export const DEFAULT_LAB: LabConfig = {
  pinBigCluster: true,
  thermal: { thresholdC: 30, pollMs: 30_000, maxWaitMs: 20 * 60_000, batchLimitC: 45 },
  freqDropTolerance: 0.1,
  requeueFlagged: true,
  lockGovernor: false,
  // 10%: the share within which undisturbed repeats agree (bench:costmodel); twice, because a disturbance
  // can outlast the rest of a short sweep.
  // Up to a minute for a calm probe before each re-measure pass: most disturbances here lasted seconds.
  disturbance: { tolerance: 0.1, remeasures: 2, calmWaitMs: 60_000 },
};

export const DEFAULT_STORE_PATH = 'prunelab.db';

/**
 * What an Appium entry leaves out. A poll waits up to 500 ms on the phone for the command to end, so a
 * short command costs one HTTP round trip and a batch's lines arrive within half a second; one HTTP call
 * taking over 60 s means the server or the link is stuck (no call is meant to last longer).
 */
export const DEFAULT_APPIUM_DEVICE: Pick<AppiumDeviceConfig, 'workDir' | 'pollMs' | 'commandTimeoutMs'> = {
  workDir: '/data/local/tmp/prunelab',
  pollMs: 500,
  commandTimeoutMs: 60_000,
};

/**
 * Nightly runs (orchestrator/nightly/README.md). Sentinels: three small cases of well under a millisecond
 * that exercise the three kernel families (direct 3x3, batch-1 FC, a block-sparse 1x1), so the night's speed of
 * the device is known apart from the sweep. Thresholds follow IREE (a threshold per benchmark from its own
 * noise) with a floor; a suspect is confirmed by a second hit as FAI-PEP does.
 */
export const DEFAULT_NIGHTLY: NightlyConfig = {
  sentinels: [
    // Big enough that a timer tick or a cache miss is small against them (about 0.05-0.5 ms on a desktop
    // core, several times that on a phone), small enough to repeat through the night at no real cost.
    { name: 'dense-conv3x3', op: 'conv', cin: 64, cout: 64, side: 28, k: 3, scheme: 'dense', sparsity: 0 },
    { name: 'dense-fc', op: 'fc', cin: 1024, cout: 1024, side: 1, k: 1, scheme: 'dense', sparsity: 0 },
    {
      name: 'bcr-conv1x1',
      op: 'conv',
      cin: 128,
      cout: 128,
      side: 28,
      k: 1,
      scheme: 'bcr',
      block: '4x1',
      sparsity: 0.75,
    },
  ],
  sentinelEveryBatches: 2,
  historyNights: 14,
  minHistoryNights: 3,
  noiseK: 4,
  minThreshold: 0.05,
  maxSentinelSpread: 0.1,
  maxFailedShare: 0.1,
  confirmRounds: 3,
  expectDevices: [],
  keepBuilds: 5,
};

/** The whole config used with no file and no flags. */
export const DEFAULT_CONFIG: PrunelabConfig = {
  sweep: DEFAULT_SWEEP,
  devices: { host: { enabled: true }, adb: DEFAULT_ADB, appium: [] },
  scheduler: DEFAULT_SCHEDULER,
  lab: DEFAULT_LAB,
  store: { path: DEFAULT_STORE_PATH },
  nightly: DEFAULT_NIGHTLY,
};
