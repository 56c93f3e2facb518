/**
 * Lab hygiene for one device: the I/O edge around the pure policy (policy.ts). At the start of a sweep it
 * asks the agent which CPUs form the big cluster, reads screen and charging state, detects root and locks
 * the governor when asked; around each batch it gates on temperature and reads telemetry.
 */
import type { AgentInfo } from '../../config/agent-protocol.ts';
import { parseAgentInfo } from '../agent/parse-output.ts';
import type { BatchEndReport, BatchHygiene, BatchStartReport } from '../scheduler/hygiene.ts';
import { sleepUnlessAborted } from '../sleep.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device } from '../transport/port.ts';
import { detectRoot, lockGovernor, type RootAccess, restoreGovernor } from './governor.ts';
import { batchFlag, bigClusterCpus, gateStep, type HygienePolicy } from './policy.ts';
import { POWER_COMMAND, type PowerState, parsePowerState } from './power.ts';
import { cpuTemperatureC, type LabTelemetry, parseTelemetry, TELEMETRY_COMMAND } from './telemetry.ts';

/** What the lab found and did on a device, stored with the run (`run_devices`). */
export interface DeviceLabState {
  readonly bigCpus: readonly number[] | null;
  readonly clusters: AgentInfo['clusters'];
  readonly power: PowerState;
  readonly root: RootAccess;
  /** cpu -> governor it had before the lock (empty: not locked). */
  readonly lockedGovernors: Readonly<Record<string, string>>;
}

export interface DeviceLab extends BatchHygiene {
  readonly state: DeviceLabState;
  /** Restores what the lab changed (the governor). */
  finish(): Promise<void>;
}

export interface LabClock {
  readonly nowMs: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

const realClock: LabClock = {
  nowMs: () => performance.now(),
  sleep: sleepUnlessAborted,
};

const TIMEOUT_MS = 15_000;

async function readTelemetry(device: Device): Promise<LabTelemetry> {
  const result = await device.shell(TELEMETRY_COMMAND, { timeoutMs: TIMEOUT_MS });
  if (result.timedOut) {
    throw new TransportError(
      `reading telemetry on ${device.identity.id} took over ${TIMEOUT_MS} ms`,
      { deviceId: device.identity.id, operation: 'shell' },
      { transient: true },
    );
  }
  return parseTelemetry(result.stdout);
}

async function agentInfo(device: Device, agentPath: string): Promise<AgentInfo | undefined> {
  const result = await device.shell([agentPath, 'info'], { timeoutMs: 60_000 });
  const line = result.stdout.split('\n').find((text) => text.trim().startsWith('{'));
  if (result.exitCode !== 0 || line === undefined) return undefined;
  const parsed = parseAgentInfo(line);
  return parsed.ok ? parsed.value : undefined;
}

export async function prepareDeviceLab(
  device: Device,
  agentPath: string,
  policy: HygienePolicy,
  clock: LabClock = realClock,
): Promise<DeviceLab> {
  const info = await agentInfo(device, agentPath);
  const bigCpus = policy.pinBigCluster && info !== undefined ? (bigClusterCpus(info) ?? null) : null;
  const power = parsePowerState((await device.shell(POWER_COMMAND, { timeoutMs: TIMEOUT_MS })).stdout);
  const root = await detectRoot(device);
  const locked =
    policy.lockGovernor && root !== 'none' && bigCpus !== null
      ? await lockGovernor(device, root, bigCpus)
      : new Map<number, string>();

  const state: DeviceLabState = {
    bigCpus,
    clusters: info?.clusters ?? [],
    power,
    root,
    lockedGovernors: Object.fromEntries([...locked].map(([cpu, name]) => [`cpu${cpu}`, name])),
  };

  // The reading after a batch is also the reading before the next one when it is this fresh.
  const REUSE_READING_MS = 1_000;
  let last: { readonly telemetry: LabTelemetry; readonly atMs: number } | undefined;
  const read = async (): Promise<LabTelemetry> => {
    const telemetry = await readTelemetry(device);
    last = { telemetry, atMs: clock.nowMs() };
    return telemetry;
  };

  async function beforeBatch(signal: AbortSignal): Promise<BatchStartReport> {
    // The wait counts from the first reading: a device cool at once waited 0 ms, however slow the read.
    let startedMs: number | undefined;
    let fresh =
      last !== undefined && clock.nowMs() - last.atMs <= REUSE_READING_MS ? last.telemetry : undefined;
    for (;;) {
      const telemetry = fresh ?? (await read());
      fresh = undefined;
      const temperatureC = cpuTemperatureC(telemetry);
      startedMs ??= clock.nowMs();
      const waitedMs = clock.nowMs() - startedMs;
      const step = gateStep(temperatureC, waitedMs, policy.thermal);
      if (step.action === 'start' || signal.aborted) {
        return {
          thermalWaitMs: waitedMs,
          gate: step.action === 'start' ? step.reason : 'stopped',
          temperatureC: temperatureC ?? null,
          telemetry,
        };
      }
      await clock.sleep(step.delayMs, signal);
    }
  }

  async function afterBatch(start: BatchStartReport): Promise<BatchEndReport> {
    const telemetry = await read();
    const flag = batchFlag(start.telemetry as LabTelemetry, telemetry, bigCpus ?? undefined, policy);
    return {
      temperatureC: cpuTemperatureC(telemetry) ?? null,
      telemetry,
      ...(flag === undefined ? {} : { flag }),
    };
  }

  return {
    state,
    ...(bigCpus === null ? {} : { cpus: bigCpus }),
    beforeBatch,
    afterBatch,
    finish: async () => {
      if (locked.size > 0) await restoreGovernor(device, root, locked);
    },
  };
}
