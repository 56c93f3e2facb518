/**
 * Renders scheduler events on stderr: one cli-progress bar per device on a TTY (cases settled / total,
 * failures, ETA), plain lines otherwise (logs, CI, pipes).
 */
import cliProgress from 'cli-progress';
import type { SchedulerEvent } from '../scheduler/events.ts';
import type { StatusCounts } from '../store/tasks.ts';
import type { Output } from './context.ts';

export interface ProgressRenderer {
  readonly onEvent: (event: SchedulerEvent) => void;
  /** Removes the bars (call before printing the summary). */
  stop(): void;
}

interface DeviceState {
  total: number;
  settled: number;
  failed: number;
  readonly startedMs: number;
  readonly settledAtStart: number;
}

function settledOf(counts: StatusCounts): number {
  return counts.done + counts.failed + counts.skipped;
}

function totalOf(counts: StatusCounts): number {
  return settledOf(counts) + counts.pending + counts.running;
}

export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function remeasureNote(event: Extract<SchedulerEvent, { type: 'remeasure-start' }>): string {
  const waited =
    event.calmWaitMs < 1_000
      ? ''
      : event.calm
        ? `, after waiting ${(event.calmWaitMs / 1000).toFixed(0)} s for the device to calm down`
        : `; the device was still disturbed after lab.disturbance.calmWaitMs (${(event.calmWaitMs / 1000).toFixed(0)} s)`;
  return `${event.cases} cases ran disturbed (probe up to ${event.worstRatio.toFixed(2)}x the run's fastest; lab.disturbance.tolerance = ${event.tolerance}): measuring them again${waited}; the calmer result is kept`;
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / 1e3).toFixed(1)} us`;
}

/** Remaining time from the rate of this session (cases settled before a resume do not count). */
function etaMs(state: DeviceState, nowMs: number): number {
  const done = state.settled - state.settledAtStart;
  if (done <= 0) return Number.NaN;
  return ((nowMs - state.startedMs) / done) * (state.total - state.settled);
}

export function plainProgress(
  write: (text: string) => void,
  clock: () => number = () => performance.now(),
): ProgressRenderer {
  const devices = new Map<string, DeviceState>();
  const line = (deviceId: string, text: string): void => {
    const state = devices.get(deviceId);
    const position = state === undefined ? '' : ` ${state.settled}/${state.total}`;
    const eta = state === undefined ? '' : ` eta ${formatDurationMs(etaMs(state, clock()))}`;
    write(`[${deviceId}]${position} ${text}${eta}\n`);
  };
  return {
    onEvent: (event) => {
      switch (event.type) {
        case 'device-start': {
          const settled = settledOf(event.counts);
          devices.set(event.deviceId, {
            total: totalOf(event.counts),
            settled,
            failed: event.counts.failed,
            startedMs: clock(),
            settledAtStart: settled,
          });
          write(
            `[${event.deviceId}] ${totalOf(event.counts) - settled} cases to run (${settled} already settled)\n`,
          );
          return;
        }
        case 'case-done': {
          const state = devices.get(event.deviceId);
          if (state !== undefined) state.settled += 1;
          line(event.deviceId, `ok ${event.caseKey} median ${formatNs(event.medianNs)}`);
          return;
        }
        case 'case-failed': {
          const state = devices.get(event.deviceId);
          if (state !== undefined && !event.willRetry) {
            state.settled += 1;
            state.failed += 1;
          }
          line(
            event.deviceId,
            `${event.willRetry ? 'retry' : 'FAILED'} ${event.caseKey} (${event.reason}): ${event.message}`,
          );
          return;
        }
        case 'device-stopped':
          write(`[${event.deviceId}] stopped: ${event.reason}\n`);
          return;
        case 'device-note':
          write(`[${event.deviceId}] ${event.message}\n`);
          return;
        case 'remeasure-start': {
          const state = devices.get(event.deviceId);
          if (state !== undefined) state.total += event.cases;
          write(`[${event.deviceId}] ${remeasureNote(event)}\n`);
          return;
        }
        case 'device-done':
          write(
            `[${event.deviceId}] finished: ${event.counts.done} done, ${event.counts.failed} failed, ${event.counts.pending} pending${event.counts.skipped > 0 ? `, ${event.counts.skipped} skipped` : ''}\n`,
          );
          return;
        case 'batch-start':
          return;
      }
    },
    stop: () => {},
  };
}

export function barProgress(stream: NodeJS.WritableStream): ProgressRenderer {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: '{device} [{bar}] {value}/{total} cases | {failed} failed | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, { bar: cliProgress.SingleBar; failed: number }>();
  return {
    onEvent: (event) => {
      const entry = bars.get(event.deviceId);
      switch (event.type) {
        case 'device-start': {
          const bar = multibar.create(totalOf(event.counts), settledOf(event.counts), {
            device: event.deviceId,
            failed: event.counts.failed,
          });
          bars.set(event.deviceId, { bar, failed: event.counts.failed });
          return;
        }
        case 'case-done':
          entry?.bar.increment(1, { failed: entry.failed });
          return;
        case 'case-failed':
          if (entry === undefined) return;
          if (!event.willRetry) {
            entry.failed += 1;
            entry.bar.increment(1, { failed: entry.failed });
          }
          multibar.log(
            `${event.deviceId}: ${event.willRetry ? 'retry' : 'failed'} ${event.caseKey} (${event.reason}): ${event.message}\n`,
          );
          return;
        case 'device-stopped':
          multibar.log(`${event.deviceId}: stopped: ${event.reason}\n`);
          return;
        case 'device-note':
          multibar.log(`${event.deviceId}: ${event.message}\n`);
          return;
        case 'remeasure-start':
          entry?.bar.setTotal(entry.bar.getTotal() + event.cases);
          multibar.log(`${event.deviceId}: ${remeasureNote(event)}\n`);
          return;
        default:
          return;
      }
    },
    stop: () => multibar.stop(),
  };
}

/** Progress of one count (samples, candidates): a bar with ETA on a terminal, lines otherwise. */
export interface CountProgress {
  /** `note` (e.g. what just finished and how long it took) is printed as a line of its own. */
  update(done: number, total: number, note?: string): void;
  stop(): void;
}

/**
 * On a TTY a cli-progress bar (`label [bar] done/total unit, ETA`); elsewhere (logs, CI, pipes) a line per
 * note and, without one, a line every two seconds, each with the ETA from this session's rate.
 */
export function countProgress(
  output: Pick<Output, 'stderrIsTty' | 'stderr' | 'err'>,
  label: string,
  unit: string,
  clock: () => number = () => performance.now(),
): CountProgress {
  const startedMs = clock();
  if (output.stderrIsTty) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} ${unit}, ETA {eta_formatted}`,
        stream: output.stderr,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (done, total, note) => {
        if (!started) bar.start(total, 0);
        started = true;
        if (note !== undefined) output.stderr.write(`\r\x1b[K${note}\n`);
        bar.update(done);
      },
      stop: () => bar.stop(),
    };
  }
  let lastMs = Number.NEGATIVE_INFINITY;
  return {
    update: (done, total, note) => {
      const nowMs = clock();
      if (note === undefined && nowMs - lastMs < 2000 && done !== total) return;
      lastMs = nowMs;
      const eta = done > 0 ? ((nowMs - startedMs) / done) * (total - done) : Number.NaN;
      output.err(
        `${label}: ${done}/${total} ${unit}${note === undefined ? '' : ` ${note}`}, eta ${formatDurationMs(eta)}\n`,
      );
    },
    stop: () => {},
  };
}
