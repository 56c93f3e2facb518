/**
 * The agent's JSON-lines protocol (device-agent/README.md, plan and result lines), declared once as types.
 * Fields may be added, never renamed: both the C agent and the orchestrator read these names.
 */
import type { Backend, Dtype, Op, Scheme } from './vocabulary.ts';

/** Measurement policy carried by every plan line (all optional on the wire; the agent has named defaults). */
export interface SamplingFields {
  readonly warmup?: number;
  readonly minReps?: number;
  readonly minTimeMs?: number;
  readonly maxReps?: number;
  readonly maxTimeMs?: number;
  /** Stop once minReps is met and the 95% CI of the median is narrower than this fraction of it; 0 = off (default). */
  readonly ciRelWidth?: number;
}

interface PlanLineBase extends SamplingFields {
  readonly id: string;
  readonly threads?: number;
  readonly cpus?: readonly number[];
  readonly seed?: number;
  /** Where the layer runs (default cpu); gpu = the agent's OpenCL kernels (device-agent/src/gpu/README.md). */
  readonly backend?: Backend;
  /** Storage type (default fp32); fp16 only with backend gpu. */
  readonly dtype?: Dtype;
}

/**
 * A layer's real weights on the device: raw little-endian fp32 in the GEMM view (rows = output channels,
 * columns (ci*k + ky)*k + kx; dwconv one row of k*k taps per channel; fc [out][in]) starting at byte `offset`
 * of the file at `path`, whose WHOLE content hashes to `sha256` (64 lowercase hex). The agent refuses the case
 * (an error record) when the file is missing, hashes differently, is too short or holds a non-finite value.
 */
export interface WeightsRef {
  readonly path: string;
  readonly offset: number;
  readonly sha256: string;
}

export interface ConvPlanLine extends PlanLineBase {
  readonly op: 'conv' | 'dwconv';
  readonly cin: number;
  readonly cout: number;
  readonly h: number;
  readonly w: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly scheme: Scheme;
  /** `BRxBC`, for the block schemes. */
  readonly block?: string;
  readonly sparsity: number;
  /** bcr only: share of the removed weights taken as whole rows inside blocks (default 0). */
  readonly bcrRowShare?: number;
  /** Real weights instead of the seeded ones (absent: seeded). */
  readonly weights?: WeightsRef;
}

export interface FcPlanLine extends PlanLineBase {
  readonly op: 'fc';
  readonly in: number;
  readonly out: number;
  readonly scheme: Scheme;
  readonly block?: string;
  readonly sparsity: number;
  readonly bcrRowShare?: number;
  readonly weights?: WeightsRef;
}

export interface IdlePlanLine extends PlanLineBase {
  readonly op: 'idle';
  readonly durationUs: number;
}

export type PlanLine = ConvPlanLine | FcPlanLine | IdlePlanLine;

/** One layer of a network line: a conv or fc line's layer fields, and where its input comes from. */
export type NetworkLayerLine = (
  | Omit<ConvPlanLine, 'id' | keyof SamplingFields | 'threads' | 'cpus' | 'backend' | 'dtype'>
  | Omit<FcPlanLine, 'id' | keyof SamplingFields | 'threads' | 'cpus' | 'backend' | 'dtype'>
) & {
  /**
   * `previous`: read the output of the layer before it in place (the agent checks that its size equals this
   * layer's input, else the network is an error record); `own` (default): the layer's own seeded input.
   */
  readonly input?: 'own' | 'previous';
};

/**
 * `op: network`: the layers run back to back, one timed repetition = every layer once, in order; sampling,
 * pinning, telemetry and the probe as for a case. CPU only. Nothing between the layers (activations, pooling,
 * element-wise add) is run. `seed` is every layer's default seed.
 */
export interface NetworkPlanLine extends Omit<PlanLineBase, 'backend' | 'dtype'> {
  readonly op: 'network';
  readonly layers: readonly NetworkLayerLine[];
}

/** One sysfs reading: millidegrees Celsius per thermal zone and kHz per CPU; null = file absent or unreadable. */
export interface TelemetrySnapshot {
  readonly timeNs: number;
  readonly thermalMilliC: Readonly<Record<string, number | null>>;
  readonly cpuFreqKhz: Readonly<Record<string, number | null>>;
}

export interface OkResultLine {
  readonly type: 'result';
  readonly id: string;
  readonly status: 'ok';
  readonly op: Op;
  readonly samplesNs: readonly number[];
  readonly density: number;
  readonly keptBlocks: number;
  readonly keptEnergy: number;
  /**
   * FNV-1a 64 of the keep-mask in the GEMM view (rows*cols bytes, 1 kept / 0 removed, row-major), as 16
   * lowercase hex digits; absent for idle. cost-model/masks.ts computes the same hash of its masks.
   */
  readonly maskFnv1a?: string;
  readonly flops: number;
  readonly kernel: string;
  readonly cpus: readonly number[];
  readonly telemetry: { readonly before: TelemetrySnapshot; readonly after: TelemetrySnapshot };
  /** 1-based line of the plan this result answers. */
  readonly line?: number;
  /** Echo of the plan line: scheme and block are null for idle (block also when the line had none). */
  readonly scheme?: Scheme | null;
  readonly block?: string | null;
  /** Requested sparsity; `density` is what the mask really kept. */
  readonly sparsity?: number;
  readonly seed?: number;
  readonly durationUs?: number;
  readonly threads?: number;
  /** Timed repetitions, = samplesNs.length. */
  readonly reps?: number;
  /** Time the agent spent preparing weights, masks and packed formats before timing. */
  readonly prepareNs?: number;
  /** Time the agent spent sampling (warm-up and timed repetitions). */
  readonly samplingNs?: number;
  /**
   * The agent's fixed probe workload timed just before and just after sampling (device-agent/src/probe.h):
   * on one CPU it only runs slower when something else shares the core or the memory bandwidth, so the host
   * can tell a disturbed case from a slow one (orchestrator/scheduler/disturbance.ts). It is the core
   * phase (probeCoreNs); the stream phase is reported apart and not judged (too noisy on a shared VM).
   */
  readonly probeNs?: readonly [number, number];
  /** The probe's core phase (a 16 KB multiply-add loop): slowed by work sharing the core. */
  readonly probeCoreNs?: readonly [number, number];
  /** The probe's stream phase (one read pass over probeStreamBytes): slowed by work competing for DRAM. */
  readonly probeStreamNs?: readonly [number, number];
  /** Bytes the stream phase reads (twice the last-level cache from sysfs, else 8 MB); 0 = the phase did not run. */
  readonly probeStreamBytes?: number;
  /** Which rule of the sampling policy ended the case (maxTime: possibly fewer samples than minReps). */
  readonly stop?: StopReason;
  /** Relative width of the median's 95% CI when the ciRelWidth rule was checked, else null. */
  readonly medianCiRelWidth?: number | null;
  /** The sampling policy in force: the plan's fields over the agent's defaults. */
  readonly sampling?: Required<SamplingFields>;
  /** Where the case ran and its storage type (absent from agents older than the GPU backend: cpu, fp32). */
  readonly backend?: Backend;
  readonly dtype?: Dtype;
  /** gpu only: per sample, the kernels' own time from OpenCL profiling events (samplesNs is the wall clock). */
  readonly kernelNs?: readonly number[];
  /** gpu only: the OpenCL device and how its program was obtained (compileNs is never part of a sample). */
  readonly gpu?: GpuCaseInfo;
  /** `seeded`, or the sha256 of the weights file the case read (absent from agents older than real weights). */
  readonly weights?: string;
}

/** One layer of a network result: what a case result says of its layer. */
export interface NetworkLayerResult {
  readonly index: number;
  readonly op: 'conv' | 'dwconv' | 'fc';
  readonly input: 'own' | 'previous';
  readonly scheme: Scheme;
  readonly block: string | null;
  readonly sparsity: number;
  readonly seed: number;
  /** `seeded`, or the sha256 of the weights file. */
  readonly weights: string;
  readonly density: number;
  readonly keptBlocks: number;
  readonly keptEnergy: number;
  readonly maskFnv1a: string;
  readonly flops: number;
  readonly kernel: string;
}

/** The result of a network line: one sample per repetition of all layers back to back. */
export interface NetworkResultLine {
  readonly type: 'result';
  readonly id: string;
  readonly line: number;
  readonly status: 'ok';
  readonly op: 'network';
  readonly layers: readonly NetworkLayerResult[];
  /** What the network op does not run (everything between the layers), in words. */
  readonly notRun: string;
  readonly flops: number;
  readonly backend: 'cpu';
  readonly threads: number;
  readonly cpus: readonly number[];
  readonly reps: number;
  readonly prepareNs: number;
  readonly samplingNs: number;
  readonly probeNs: readonly [number, number];
  readonly stop: StopReason;
  readonly medianCiRelWidth: number | null;
  readonly sampling: Required<SamplingFields>;
  readonly medianNs: number;
  readonly samplesNs: readonly number[];
  readonly telemetry: { readonly before: TelemetrySnapshot; readonly after: TelemetrySnapshot };
}

export interface GpuCaseInfo {
  readonly platform: string;
  readonly device: string;
  readonly driver: string;
  readonly openclLibrary: string;
  readonly programFrom: 'source' | 'binary-cache';
  readonly compileNs: number;
  readonly cacheNote: string | null;
}

export type StopReason = 'minReached' | 'ci' | 'maxReps' | 'maxTime';

export interface ErrorResultLine {
  readonly type: 'result';
  readonly id: string;
  readonly status: 'error';
  readonly error: string;
  readonly line?: number;
}

export type ResultLine = OkResultLine | ErrorResultLine;

export interface DoneLine {
  readonly type: 'done';
  readonly cases: number;
  readonly ok: number;
  readonly errors: number;
}

export type AgentOutputLine = ResultLine | DoneLine;

/** `prunelab-agent info`: the build and the device it runs on. */
export interface AgentCpu {
  readonly id: number;
  /** null when the sysfs tree does not say. */
  readonly online: boolean | null;
  readonly maxFreqKhz: number | null;
  /** arm64 cpu_capacity (0..1024), null where absent. */
  readonly capacity: number | null;
  /** Index into `clusters`. */
  readonly cluster: number;
}

export interface AgentCluster {
  readonly index: number;
  /** Cluster 0 is the fastest ("big"), the slowest is "little", any between are "mid". */
  readonly role: 'big' | 'mid' | 'little';
  readonly maxFreqKhz: number | null;
  readonly cpus: readonly number[];
}

export interface AgentInfo {
  readonly type: 'info';
  readonly protocolVersion: number;
  readonly abi: string;
  readonly arch: string;
  readonly buildHash: string;
  readonly compiler: string;
  readonly cflags: string;
  /** Where cpus and clusters were read from (PRUNELAB_SYSFS_ROOT, default /sys). */
  readonly sysfsRoot: string;
  readonly cpus: readonly AgentCpu[];
  readonly clusters: readonly AgentCluster[];
  readonly bigCluster: number | null;
  /** Run-time CPU support, by feature name (avx2, fma, asimd, asimddp, sve, ...). */
  readonly simd: Readonly<Record<string, boolean>>;
  /** Features this binary was compiled to use. */
  readonly simdCompiled: readonly string[];
  /** CLOCK_MONOTONIC resolution (clock_getres), null if unavailable. */
  readonly clockResolutionNs: number | null;
  /** Measured median cost of reading the clock twice back to back: the floor under every sample. */
  readonly clockOverheadNs: number;
  readonly pageSizeBytes: number;
  readonly onlineCpuCount: number;
  /** CPUs the agent process may run on (sched_getaffinity). */
  readonly affinity: readonly number[];
  readonly cpuModel: string | null;
  readonly uname: { readonly sysname: string; readonly release: string; readonly machine: string } | null;
  /** OpenCL as the GPU backend sees it (absent from agents older than the GPU backend). */
  readonly gpu?: AgentGpuInfo;
}

export interface AgentGpuDevice {
  readonly name: string;
  readonly vendor: string;
  readonly driver: string;
  readonly version: string;
  readonly type: 'gpu' | 'cpu' | 'other';
  readonly computeUnits: number;
  readonly maxWorkGroupSize: number;
  readonly localMemBytes: number;
  readonly globalMemBytes: number;
  readonly maxAllocBytes: number;
  /** The device offers cl_khr_fp16 (half arithmetic; the agent's fp16 storage does not need it). */
  readonly fp16: boolean;
  readonly extensions: readonly string[];
}

export interface AgentGpuInfo {
  /** What dlopen loaded, or null when no OpenCL library was found. */
  readonly openclLibrary: string | null;
  /** Why no platform is usable, or null. */
  readonly error: string | null;
  readonly platforms: readonly {
    readonly name: string;
    readonly vendor: string;
    readonly version: string;
    readonly devices: readonly AgentGpuDevice[];
  }[];
}
