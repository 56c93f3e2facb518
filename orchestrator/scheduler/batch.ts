/**
 * One agent call: a batch of tasks goes to `prunelab-agent run` on stdin, result lines stream back and each
 * case is committed on arrival. How a call ends decides what happens to the cases without a result:
 *
 * - the agent reported an error for a case: that case failed for good (stable; the agent's message is kept);
 * - the agent crashed, hung past the case timeout, printed garbage or left cases out: the first case without
 *   a result was the one in flight (the agent runs cases in order), so it is charged one attempt and retried
 *   until `retries` is used up, then failed with the agent's stderr; the cases after it never ran and go back
 *   to pending uncharged;
 * - a stop was requested (Ctrl-C): the agent runs in its own process group, so the terminal's SIGINT never
 *   reaches it; the scheduler lets the case in flight finish, commits its result, then kills the agent and
 *   leaves the rest pending. A second stop (hard) kills it at once.
 */
import { posix } from 'node:path';
import type { OkResultLine } from '../../config/agent-protocol.ts';
import { parseAgentOutputLine } from '../agent/parse-output.ts';
import { messageOf } from '../errors.ts';
import type { LeaseFence } from '../store/leases.ts';
import type { StoreDb } from '../store/open.ts';
import { retryOnConnectionLoss } from '../store/retry.ts';
import type { TaskRow } from '../store/schema.ts';
import {
  commitMeasurement,
  type FailureInput,
  type PlanLineBody,
  recordFailure,
  setTasksStatus,
} from '../store/tasks.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device, ShellResult } from '../transport/port.ts';
import type { EventSink } from './events.ts';
import { type Provenance, summarizeResult, toMeasurement, weightsMismatch } from './measurement.ts';

export interface BatchContext {
  readonly db: StoreDb;
  readonly device: Device;
  /** The agent binary's path on the device. */
  readonly agentPath: string;
  readonly provenance: Provenance;
  /** Longest wait for the next output line (one case) before the agent is killed as hung. */
  readonly caseTimeoutMs: number;
  /** Transient failures a case may have before it is failed for good (3: FAI-PEP's default). */
  readonly retries: number;
  /** Finish the case in flight, then stop. */
  readonly stop: AbortSignal;
  /** Stop now. */
  readonly hardStop: AbortSignal;
  readonly emit: EventSink;
  readonly now?: () => Date;
  /** CPUs every plan line is pinned to (lab hygiene: the big cluster); absent = the plan's own. */
  readonly cpus?: readonly number[];
  /** The device lease this process holds: commits are refused once another process took the device over. */
  readonly fence?: LeaseFence;
}

/** What happened to each case of the call, in the order it was settled. */
export type CaseOutcome = 'ok' | 'stable-failure' | 'final-failure' | 'retry';

export interface BatchReport {
  readonly outcomes: readonly CaseOutcome[];
  /** Set when the call itself failed (crash, hang, garbage, missing results, transport). */
  readonly callFailure?: FailureInput;
  /** True when the call ended because a stop was requested. */
  readonly stopped: boolean;
}

/** The id a task has on the wire: unique within the call, maps straight back to the task row. */
export function wireId(taskId: number): string {
  return `t${taskId}`;
}

/**
 * The agent's stdin for these tasks. A stored line names its weights file by file name alone (the same on
 * every device); `workDir` (the folder the agent and the pushed weights files are in) is put in front of it.
 */
export function batchStdin(tasks: readonly TaskRow[], cpus?: readonly number[], workDir?: string): string {
  return tasks
    .map((task) => {
      const line = JSON.parse(task.plan_line_json) as PlanLineBody;
      // A case that wants more threads than the big cluster has keeps its own placement.
      const pin = cpus !== undefined && (line.threads ?? 1) <= cpus.length ? { cpus } : {};
      const weights =
        'weights' in line && line.weights !== undefined && workDir !== undefined
          ? { weights: { ...line.weights, path: posix.join(workDir, line.weights.path) } }
          : {};
      return `${JSON.stringify({ id: wireId(task.id), ...line, ...pin, ...weights })}\n`;
    })
    .join('');
}

const TAIL_CHARS = 200;

function clip(text: string): string {
  return text.length <= TAIL_CHARS ? text : `${text.slice(0, TAIL_CHARS)}...`;
}

type EndReason = 'stop' | 'hard-stop' | 'timeout' | 'garbage' | 'store';

/**
 * Commits run one after another in arrival order (the line handler only queues them). A commit that lost its
 * store connection is tried again with growing waits while the agent goes on (store/retry.ts), so a store
 * that is away for a while costs no result; any other store failure goes to `onFailure`.
 */
function serialCommits(
  emit: EventSink,
  deviceId: string,
  onFailure: (error: unknown) => void,
): { queue: (work: () => Promise<void>) => void; drained: () => Promise<void> } {
  let chain: Promise<void> = Promise.resolve();
  const onLoss = (error: unknown, waitMs: number): void =>
    emit({
      type: 'device-note',
      deviceId,
      message: `store unreachable (${messageOf(error)}); keeping the result, trying again in ${(waitMs / 1000).toFixed(1)} s`,
    });
  return {
    queue: (work) => {
      chain = chain.then(() => retryOnConnectionLoss(work, onLoss)).catch(onFailure);
    },
    drained: () => chain,
  };
}

/** A result the store did not keep: the lease or the worker's batch was taken over, or the case has its result. */
function noteRefused(emit: BatchContext['emit'], deviceId: string, caseKey: string): void {
  emit({
    type: 'device-note',
    deviceId,
    message: `result of ${caseKey} refused by the store (lease or batch taken over, or already measured): not counted`,
  });
}

export async function runBatch(context: BatchContext, tasks: readonly TaskRow[]): Promise<BatchReport> {
  const now = context.now ?? (() => new Date());
  const { db, device, emit } = context;
  const deviceId = device.identity.id;
  const byWireId = new Map(tasks.map((task) => [wireId(task.id), task]));
  const settled = new Set<number>();
  const outcomes: CaseOutcome[] = [];
  const killer = new AbortController();
  let endReason: EndReason | undefined;
  let garbage: string | undefined;
  let doneSeen = false;
  let stopAfterCase = context.stop.aborted;

  const end = (reason: EndReason): void => {
    if (endReason !== undefined) return;
    endReason = reason;
    killer.abort();
  };
  const onStop = (): void => {
    stopAfterCase = true;
  };
  const onHardStop = (): void => end('hard-stop');
  context.stop.addEventListener('abort', onStop);
  context.hardStop.addEventListener('abort', onHardStop);
  if (context.hardStop.aborted) onHardStop();

  let watchdog: NodeJS.Timeout | undefined;
  const armWatchdog = (): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => end('timeout'), context.caseTimeoutMs);
  };

  // A store failure stops the call (nothing more could be kept) and is rethrown once the agent is gone.
  let storeError: unknown;
  const { queue, drained } = serialCommits(emit, deviceId, (error) => {
    storeError ??= error;
    end('store');
  });

  const commitOk = async (task: TaskRow, result: OkResultLine, receivedMs: number): Promise<void> => {
    const summary = summarizeResult(result);
    if (typeof summary === 'string') {
      await commitStable(task, 'bad-result', `the agent's result is unusable: ${summary}`);
      return;
    }
    const mismatch = weightsMismatch(task.weights, result);
    if (mismatch !== undefined) {
      await commitStable(task, 'weights-mismatch', mismatch);
      return;
    }
    const measured = toMeasurement(result, summary, context.provenance);
    if (!(await commitMeasurement(db, task.id, measured, now(), context.fence))) {
      noteRefused(emit, deviceId, task.case_key);
      return;
    }
    outcomes.push('ok');
    emit({
      type: 'case-done',
      deviceId,
      taskId: task.id,
      caseKey: task.case_key,
      medianNs: summary.median,
      hostMs: performance.now() - receivedMs,
      ...(result.probeNs === undefined ? {} : { probeMaxNs: Math.max(...result.probeNs) }),
    });
  };
  const commitStable = async (task: TaskRow, reason: string, message: string): Promise<void> => {
    const failure = { transient: false, reason, message, stderr: null, exitCode: null, signal: null };
    await recordFailure(db, task.id, failure, 'failed', false, now(), context.fence);
    outcomes.push('stable-failure');
    emit({
      type: 'case-failed',
      deviceId,
      taskId: task.id,
      caseKey: task.case_key,
      reason,
      message,
      willRetry: false,
    });
  };

  const onLine = (text: string): void => {
    const receivedMs = performance.now();
    armWatchdog();
    if (endReason !== undefined) return;
    const parsed = parseAgentOutputLine(text);
    if (!parsed.ok) {
      garbage = parsed.error.message;
      end('garbage');
      return;
    }
    if (parsed.value.type === 'done') {
      doneSeen = true;
      return;
    }
    const result = parsed.value;
    const task = byWireId.get(result.id);
    if (task === undefined || settled.has(task.id)) {
      garbage = `result for ${task === undefined ? 'an id that was not sent' : 'a case already reported'}: ${clip(text)}`;
      end('garbage');
      return;
    }
    settled.add(task.id);
    if (result.status === 'ok') queue(() => commitOk(task, result, receivedMs));
    else queue(() => commitStable(task, 'agent-error', result.error));
    if (stopAfterCase) end('stop');
  };

  await setTasksStatus(
    db,
    tasks.map((task) => task.id),
    'pending',
    'running',
    now(),
  );
  emit({ type: 'batch-start', deviceId, batchIndex: tasks[0]?.batch_index ?? 0, cases: tasks.length });

  let shell: ShellResult | undefined;
  let transportError: TransportError | undefined;
  armWatchdog();
  try {
    shell = await device.shell([context.agentPath, 'run'], {
      timeoutMs: context.caseTimeoutMs * Math.max(1, tasks.length),
      stdin: batchStdin(tasks, context.cpus, posix.dirname(context.agentPath)),
      onStdoutLine: onLine,
      signal: killer.signal,
    });
  } catch (error) {
    if (!(error instanceof TransportError)) throw error;
    transportError = error;
  } finally {
    clearTimeout(watchdog);
    context.stop.removeEventListener('abort', onStop);
    context.hardStop.removeEventListener('abort', onHardStop);
  }
  await drained();
  if (storeError !== undefined) throw storeError;

  return settleCall(context, tasks, {
    settled,
    outcomes,
    endReason,
    garbage,
    doneSeen,
    shell,
    transportError,
  });
}

/** How the agent call ended, as the line handler and the shell left it. */
interface CallEnd {
  readonly settled: ReadonlySet<number>;
  readonly outcomes: CaseOutcome[];
  readonly endReason: EndReason | undefined;
  readonly garbage: string | undefined;
  readonly doneSeen: boolean;
  readonly shell: ShellResult | undefined;
  readonly transportError: TransportError | undefined;
}

/**
 * The cases without a result once the call is over: back to pending on a stop or a stable transport
 * failure (which is rethrown); otherwise the first one is charged the call's failure and the rest go back
 * uncharged (see the module comment).
 */
async function settleCall(
  context: BatchContext,
  tasks: readonly TaskRow[],
  call: CallEnd,
): Promise<BatchReport> {
  const now = context.now ?? (() => new Date());
  const { db, device, emit } = context;
  const deviceId = device.identity.id;
  const { settled, outcomes, endReason, garbage, doneSeen, shell, transportError } = call;
  const unsettled = tasks.filter((task) => !settled.has(task.id));
  if (transportError !== undefined && !transportError.transient) {
    await setTasksStatus(
      db,
      unsettled.map((task) => task.id),
      'running',
      'pending',
      now(),
    );
    throw transportError;
  }
  if (unsettled.length === 0 && endReason !== 'garbage') return { outcomes, stopped: endReason === 'stop' };
  if (endReason === 'stop' || endReason === 'hard-stop') {
    await setTasksStatus(
      db,
      unsettled.map((task) => task.id),
      'running',
      'pending',
      now(),
    );
    return { outcomes, stopped: true };
  }

  const failure = describeCallFailure(
    endReason,
    garbage,
    doneSeen,
    shell,
    transportError,
    context.caseTimeoutMs,
  );
  const [culprit, ...neverRan] = unsettled;
  if (culprit !== undefined && transportError === undefined) {
    const final = culprit.attempts + 1 > context.retries;
    await recordFailure(db, culprit.id, failure, final ? 'failed' : 'pending', true, now(), context.fence);
    outcomes.push(final ? 'final-failure' : 'retry');
    emit({
      type: 'case-failed',
      deviceId,
      taskId: culprit.id,
      caseKey: culprit.case_key,
      reason: failure.reason,
      message: failure.message,
      willRetry: !final,
    });
  }
  const uncharged = transportError === undefined ? neverRan : unsettled;
  await setTasksStatus(
    db,
    uncharged.map((task) => task.id),
    'running',
    'pending',
    now(),
  );
  return { outcomes, callFailure: failure, stopped: false };
}

function describeCallFailure(
  endReason: EndReason | undefined,
  garbage: string | undefined,
  doneSeen: boolean,
  shell: ShellResult | undefined,
  transportError: TransportError | undefined,
  caseTimeoutMs: number,
): FailureInput {
  const base = {
    transient: true,
    stderr: shell?.stderr.trim() === '' ? null : (shell?.stderr ?? null),
    exitCode: shell?.exitCode ?? null,
    signal: shell?.signal ?? null,
  };
  const stderrHint =
    base.stderr === null ? '' : `; stderr: ${clip(base.stderr.trim().split('\n').at(-1) ?? '')}`;
  if (transportError !== undefined) {
    return {
      ...base,
      reason: 'transport',
      message: `the device could not run the agent: ${transportError.message}`,
    };
  }
  if (endReason === 'timeout') {
    return {
      ...base,
      reason: 'timeout',
      message: `the agent printed nothing for ${caseTimeoutMs} ms and was killed (hung case)`,
    };
  }
  if (endReason === 'garbage') {
    return {
      ...base,
      reason: 'garbage',
      message: `the agent printed a line that is not protocol output (${garbage})`,
    };
  }
  if (shell !== undefined && (shell.exitCode !== 0 || shell.signal !== null)) {
    const how = shell.signal === null ? `exit code ${shell.exitCode}` : `signal ${shell.signal}`;
    return {
      ...base,
      reason: 'crash',
      message: `the agent died (${how}) before reporting this case${stderrHint}`,
    };
  }
  return {
    ...base,
    reason: 'missing-result',
    message: `the agent exited ${doneSeen ? 'with a done line' : 'without a done line'} but never reported this case${stderrHint}`,
  };
}
