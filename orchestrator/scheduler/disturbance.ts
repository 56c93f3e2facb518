/**
 * Re-measuring disturbed cases. The agent times a fixed probe workload just before and just after each case
 * (device-agent/src/probe.h): an L1-resident phase and a memory-streaming phase, judged by their sum. On one CPU
 * the probe only runs slower when something else shares the core (on a VM another guest on the SMT sibling, on
 * a phone a background app on the big core) or the memory bandwidth (a neighbour streaming through DRAM). A
 * case whose probe ran more than `tolerance` slower than the fastest probe the device showed in the run is
 * measured again, after the device's other cases (a disturbance lasts from a fraction of a second to several seconds), up to
 * `remeasures` times; the store keeps the calmer measurement (store/tasks.ts, commitMeasurement).
 *
 * Why a probe and not the samples: a disturbance that covers a whole case shifts every sample alike, so the
 * spread of the samples cannot show it. Measured on the development VM (3 runs of 474 cases, one agent
 * process each): 82 results were over 10% slower than the median of their case's runs, and 71 of them had a
 * probe over 1.1x its fastest; results with a probe within 1.15x were within ±10% of that median for 98%.
 */
import { parseAgentOutputLine } from '../agent/parse-output.ts';
import { sleepUnlessAborted } from '../sleep.ts';
import type { StoreDb } from '../store/open.ts';
import { fastestProbeNs, probeMaxNs } from '../store/probes.ts';
import type { TaskRow } from '../store/schema.ts';
import type { Device } from '../transport/port.ts';

export interface DisturbancePolicy {
  /** A probe more than this share slower than the run's fastest marks the case disturbed (lab.disturbance.tolerance). */
  readonly tolerance: number;
  /** Times a disturbed case is measured again (lab.disturbance.remeasures); 0 = never. */
  readonly remeasures: number;
  /** Longest wait for a calm probe before a re-measure pass starts anyway (lab.disturbance.calmWaitMs). */
  readonly calmWaitMs: number;
}

/** Time between two calm checks while waiting. */
export const CALM_POLL_MS = 1_000;

export interface DisturbedCase {
  readonly task: TaskRow;
  /** The slower probe / the fastest probe of the device in the run. */
  readonly ratio: number;
}

export interface DisturbedCases {
  /** The fastest probe of the device's measurements in the run (the calm reference); undefined without probes. */
  readonly fastestNs: number | undefined;
  readonly cases: readonly DisturbedCase[];
}

/**
 * The device's done cases of the run, measured by the agent build `agentHash`, whose probe says they ran
 * disturbed and that may still be measured again, most disturbed first. The fastest probe is taken over those
 * measurements (another build's cases, e.g. after a resume with a rebuilt agent, are neither compared nor
 * measured again with this one).
 */
export async function disturbedCases(
  db: StoreDb,
  runId: string,
  deviceId: string,
  agentHash: string,
  policy: Pick<DisturbancePolicy, 'tolerance' | 'remeasures'>,
): Promise<DisturbedCases> {
  if (policy.remeasures <= 0) return { fastestNs: undefined, cases: [] };
  const rows = await db
    .selectFrom('tasks')
    .innerJoin('measurements', 'measurements.task_id', 'tasks.id')
    .selectAll('tasks')
    .select([
      'measurements.probe_before_ns',
      'measurements.probe_after_ns',
      'measurements.remeasures as measured_again',
    ])
    .where('tasks.run_id', '=', runId)
    .where('tasks.device_id', '=', deviceId)
    .where('tasks.status', '=', 'done')
    .where('measurements.agent_hash', '=', agentHash)
    .execute();
  const fastest = fastestProbeNs(rows);
  if (fastest === undefined) return { fastestNs: undefined, cases: [] };
  const disturbed: DisturbedCase[] = [];
  for (const { probe_before_ns, probe_after_ns, measured_again, ...task } of rows) {
    const slowest = probeMaxNs({ probe_before_ns, probe_after_ns });
    if (slowest === undefined || measured_again >= policy.remeasures) continue;
    const ratio = slowest / fastest;
    if (ratio > 1 + policy.tolerance) disturbed.push({ task, ratio });
  }
  return { fastestNs: fastest, cases: disturbed.sort((a, b) => b.ratio - a.ratio) };
}

export interface CalmCheck {
  /** Time spent waiting (0 when the first check was calm). */
  readonly waitedMs: number;
  /** The last probe / the run's fastest; undefined when no check returned a probe. */
  readonly ratio: number | undefined;
  readonly calm: boolean;
}

/**
 * Waits for the disturbance to pass before a re-measure pass: runs the agent's idle op (one case of 1 us, which
 * carries the probe like any case) every CALM_POLL_MS until its probe is within `tolerance` of the run's
 * fastest, or `calmWaitMs` has passed. On the development VM a disturbance outlasted both re-measures of a
 * sweep when they ran at once (191 of 1422 results still disturbed); waiting for a calm probe first costs
 * nothing when the device is calm. A check the agent cannot answer counts as not calm.
 */
export async function waitForCalm(
  device: Device,
  agentPath: string,
  fastestNs: number,
  policy: Pick<DisturbancePolicy, 'tolerance' | 'calmWaitMs'>,
  options: { readonly cpus?: readonly number[]; readonly signal?: AbortSignal; readonly timeoutMs: number },
): Promise<CalmCheck> {
  const startedMs = performance.now();
  const line = `${JSON.stringify({ id: 'calm', op: 'idle', durationUs: 1, minReps: 1, warmup: 0, ...(options.cpus === undefined ? {} : { cpus: options.cpus }) })}\n`;
  let ratio: number | undefined;
  for (;;) {
    const result = await device
      .shell([agentPath, 'run'], { stdin: line, timeoutMs: options.timeoutMs })
      .catch(() => undefined);
    const probes = (result?.stdout ?? '')
      .split('\n')
      .map((text) => parseAgentOutputLine(text))
      .flatMap((parsed) =>
        parsed.ok && parsed.value.type === 'result' && parsed.value.status === 'ok'
          ? [parsed.value.probeNs]
          : [],
      )
      .find((probe) => probe !== undefined);
    ratio = probes === undefined ? undefined : Math.max(...probes) / fastestNs;
    const waitedMs = performance.now() - startedMs;
    if (ratio !== undefined && ratio <= 1 + policy.tolerance) return { waitedMs, ratio, calm: true };
    if (waitedMs >= policy.calmWaitMs || options.signal?.aborted) return { waitedMs, ratio, calm: false };
    await sleepUnlessAborted(Math.min(CALM_POLL_MS, policy.calmWaitMs - waitedMs), options.signal);
  }
}

/**
 * Puts disturbed cases back in the device's queue, after everything else (a batch index past the run's
 * last), and counts the re-measure; their measurements stay until a calmer one replaces them.
 */
export async function requeueDisturbed(
  db: StoreDb,
  runId: string,
  deviceId: string,
  cases: readonly DisturbedCase[],
  now: Date = new Date(),
): Promise<void> {
  if (cases.length === 0) return;
  const at = now.toISOString();
  await db.transaction().execute(async (trx) => {
    const last = await trx
      .selectFrom('tasks')
      .select((eb) => eb.fn.max('batch_index').as('last'))
      .where('run_id', '=', runId)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    const batchIndex = Number(last?.last ?? 0) + 1;
    for (const { task, ratio } of cases) {
      await trx
        .updateTable('tasks')
        .set({
          status: 'pending',
          batch_index: batchIndex,
          last_error: `re-measure: probe ${ratio.toFixed(2)}x the run's fastest (disturbed)`,
          updated_at: at,
        })
        .where('id', '=', task.id)
        .where('status', '=', 'done')
        .execute();
      await trx
        .updateTable('measurements')
        .set((eb) => ({ remeasures: eb('remeasures', '+', 1) }))
        .where('task_id', '=', task.id)
        .execute();
    }
  });
}
