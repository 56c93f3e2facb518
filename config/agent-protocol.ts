/**
 * The agent's JSON-lines protocol (DESIGN.md, "The agent protocol"), declared once as types.
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
}

export interface ErrorResultLine {
  readonly type: 'result';
  readonly id: string;
  readonly status: 'error';
  readonly error: string;
}

export type ResultLine = OkResultLine | ErrorResultLine;

export interface DoneLine {
  readonly type: 'done';
  readonly cases: number;
  readonly ok: number;
  readonly errors: number;
}

export type AgentOutputLine = ResultLine | DoneLine;
