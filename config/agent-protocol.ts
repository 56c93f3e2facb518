/**
 * The agent's JSON-lines protocol (device-agent/README.md, plan and result lines), declared once as types.
 * Fields may be added, never renamed: both the C agent and the orchestrator read these names.
 */
import type { Op, Scheme } from './vocabulary.ts';

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
}

export interface FcPlanLine extends PlanLineBase {
  readonly op: 'fc';
  readonly in: number;
  readonly out: number;
  readonly scheme: Scheme;
  readonly block?: string;
  readonly sparsity: number;
  readonly bcrRowShare?: number;
}

export interface IdlePlanLine extends PlanLineBase {
  readonly op: 'idle';
  readonly durationUs: number;
}

export type PlanLine = ConvPlanLine | FcPlanLine | IdlePlanLine;

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
   * on one CPU it only runs slower when something else shares the core, so the host can tell a disturbed
   * case from a slow one (orchestrator/scheduler/disturbance.ts).
   */
  readonly probeNs?: readonly [number, number];
  /** Which rule of the sampling policy ended the case (maxTime: possibly fewer samples than minReps). */
  readonly stop?: StopReason;
  /** Relative width of the median's 95% CI when the ciRelWidth rule was checked, else null. */
  readonly medianCiRelWidth?: number | null;
  /** The sampling policy in force: the plan's fields over the agent's defaults. */
  readonly sampling?: Required<SamplingFields>;
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
}
