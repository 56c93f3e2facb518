/**
 * The nightly use case, as a sequence of phases: check the devices, sweep (with sentinels between the
 * batches), read the night and its history from the store once, judge it (pure, `judgeNight`), re-measure
 * the suspects at once (`remeasure.ts`), then write the night, the LUTs and the report. Everything it
 * touches comes in through `NightlyDeps`; the CLI supplies the real ones.
 *
 * The sweep itself is `runSweep`: the night's run is stored first with its tasks (the plan's batches with
 * sentinel batches between them), then handed to runSweep as a run to continue, which runs what is pending
 * with the usual scheduler and lab hygiene.
 */
import { posix } from 'node:path';
import type { PrunelabConfig } from '../../config/schema.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { keepBuild } from '../build/build-cache.ts';
import type { Plan } from '../plan/types.ts';
import { upsertDevice } from '../store/devices.ts';
import { createRun, newRunId } from '../store/runs.ts';
import type { NightlyStatus } from '../store/schema.ts';
import { insertTasks } from '../store/tasks.ts';
import { EmptyPlanError } from '../sweep/errors.ts';
import { planFromConfig, tasksFromPlan } from '../sweep/plan-tasks.ts';
import { configHash, runSweep, type SweepSummary } from '../sweep/run-sweep.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device, DeviceInfo } from '../transport/port.ts';
import type { NightlyDeps } from './deps.ts';
import { finding, type NightlyFinding, toRecord } from './findings.ts';
import { judgeNight, type NightJudgement, type NightlyDevice } from './judge-night.ts';
import {
  createNightlyRun,
  finishNightlyRun,
  recordNight,
  setNightlyRuns,
  setNightlyStatus,
} from './nightly-store.ts';
import { writeNightOutputs } from './outputs.ts';
import { readNight } from './read-night.ts';
import { confirmSuspects, type SuspectsOnDevice } from './remeasure.ts';
import { sentinelCases, withSentinels } from './sentinels.ts';

export const NIGHTLY_EXIT = { clean: 0, regression: 1, labTrouble: 3 } as const;

export interface NightlySummary {
  readonly nightlyRunId: string;
  readonly night: string;
  readonly dbPath: string;
  readonly sweepRunId: string | null;
  readonly confirmRunId: string | null;
  readonly status: NightlyStatus;
  readonly exitCode: number;
  readonly devices: readonly NightlyDevice[];
  readonly findings: readonly NightlyFinding[];
  readonly troubles: readonly string[];
  readonly luts: readonly string[];
  readonly report: string | null;
  readonly notes: readonly string[];
  readonly wallMs: number;
}

interface DeviceState {
  readonly device: Device;
  readonly info: DeviceInfo;
}

/** What the night has found so far: findings, lab trouble and notes accumulate phase after phase. */
interface NightLog {
  readonly findings: NightlyFinding[];
  readonly troubles: string[];
  readonly notes: string[];
}

/** A confirmed regression wins over lab trouble: it is the news a morning reader must not miss. */
function outcomeOf(log: NightLog): [NightlyStatus, number] {
  const regressions = log.findings.filter((f) => f.kind === 'regression' && f.confirmed).length;
  if (regressions > 0) return ['regression', NIGHTLY_EXIT.regression];
  if (log.troubles.length > 0) return ['lab-trouble', NIGHTLY_EXIT.labTrouble];
  return ['clean', NIGHTLY_EXIT.clean];
}

function labTrouble(log: NightLog, message: string): void {
  log.troubles.push(message);
  log.findings.push(finding('lab-trouble', { deviceId: null, message }));
}

function planNight(config: PrunelabConfig): Plan {
  const plan = planFromConfig(config);
  if (plan.cases.length === 0) {
    throw new EmptyPlanError(
      'the nightly sweep has no case to run: every case of config section sweep was dropped. ' +
        'Check it with `prunelab sweep --dry-run --config FILE`.',
      { dropped: plan.dropped.length, reasons: [...new Set(plan.dropped.map((d) => d.reason))] },
      { kind: 'input' },
    );
  }
  return plan;
}

/** The devices that answer tonight; the expected ones that are missing and those that do not answer are lab trouble. */
async function checkDevices(
  deps: NightlyDeps,
  config: PrunelabConfig,
  log: NightLog,
): Promise<DeviceState[]> {
  const present = new Set(deps.devices.map((device) => device.identity.id));
  for (const expected of config.nightly.expectDevices) {
    if (!present.has(expected))
      labTrouble(log, `expected device ${expected} (nightly.expectDevices) is missing tonight`);
  }
  const states: DeviceState[] = [];
  for (const device of deps.devices) {
    try {
      states.push({ device, info: await device.info() });
    } catch (error) {
      if (!(error instanceof TransportError)) throw error;
      labTrouble(log, `${device.identity.id} did not answer: ${error.message}`);
    }
  }
  if (states.length === 0)
    labTrouble(log, 'no device to measure tonight: check the adb server and `prunelab devices`');
  return states;
}

interface NightSweep {
  readonly sweepRunId: string;
  readonly sweep: SweepSummary;
  /** Tonight's agent builds by ABI. */
  readonly builds: ReadonlyMap<string, AgentBuild>;
  /** Builds each ABI once tonight, then hands out the same build. */
  readonly buildAgent: (abi: string) => Promise<AgentBuild>;
}

/** The sweep with sentinels between its batches, stored as a run first, then run by `runSweep`; builds kept. */
async function sweepNight(
  deps: NightlyDeps,
  config: PrunelabConfig,
  plan: Plan,
  states: readonly DeviceState[],
  nightlyRunId: string,
): Promise<NightSweep> {
  const now = deps.now ?? (() => new Date());
  const nightly = config.nightly;
  const tasks = withSentinels(
    tasksFromPlan(plan),
    sentinelCases(config),
    nightly.sentinels.map((s) => s.name),
    nightly.sentinelEveryBatches,
  );
  const sweepRunId = newRunId(now());
  await createRun(
    deps.db,
    {
      id: sweepRunId,
      configJson: JSON.stringify(config),
      configHash: configHash(config),
      gitRevision: await deps.gitRevision(),
      host: deps.hostName,
    },
    now(),
  );
  await setNightlyRuns(deps.db, nightlyRunId, { sweepRunId });
  for (const { info } of states) {
    await upsertDevice(deps.db, info, now());
    await insertTasks(deps.db, sweepRunId, info.identity.id, tasks, now());
  }
  const builds = new Map<string, AgentBuild>();
  const buildAgent = async (abi: string): Promise<AgentBuild> => {
    const known = builds.get(abi);
    if (known !== undefined) return known;
    const build = await deps.buildAgent(abi);
    builds.set(abi, build);
    return build;
  };
  const sweep = await runSweep(
    { ...deps, devices: states.map((s) => s.device), buildAgent },
    { kind: 'resume', runId: sweepRunId },
  );
  for (const build of builds.values()) await keepBuild(deps.buildCacheDir, build, nightly.keepBuilds, now());
  return { sweepRunId, sweep, builds, buildAgent };
}

/** One read of the store for every device of the night, then the pure judgement. */
async function judgeTonight(
  deps: NightlyDeps,
  config: PrunelabConfig,
  states: readonly DeviceState[],
  swept: NightSweep,
  nightlyRunId: string,
): Promise<NightJudgement> {
  const reads = await readNight(deps.db, {
    nightlyRunId,
    sweepRunId: swept.sweepRunId,
    historyNights: config.nightly.historyNights,
    devices: states.map(({ info }) => ({ deviceId: info.identity.id, fingerprint: info.buildFingerprint })),
  });
  return judgeNight(
    states.map(({ info }, index) => {
      const deviceId = info.identity.id;
      const read = reads[index];
      if (read === undefined) throw new Error(`readNight returned no read for device ${deviceId}`);
      return {
        tonight: {
          deviceId,
          model: info.model,
          fingerprint: info.buildFingerprint,
          buildHash: swept.builds.get(info.identity.abi)?.hash,
          stoppedReason: swept.sweep.devices.find((d) => d.deviceId === deviceId)?.stoppedReason,
        },
        read,
      };
    }),
    config.nightly,
  );
}

/** The judged devices' suspects beside the device they are re-measured on. */
function suspectsOnDevices(
  judgement: NightJudgement,
  states: readonly DeviceState[],
): Map<string, SuspectsOnDevice> {
  const suspects = new Map<string, SuspectsOnDevice>();
  for (const state of states) {
    const deviceId = state.info.identity.id;
    const entry = judgement.suspects.get(deviceId);
    const agentHash = judgement.devices.find((d) => d.deviceId === deviceId)?.agentHash;
    if (entry === undefined || agentHash === undefined) continue;
    suspects.set(deviceId, { ...entry, device: state.device, info: state.info, agentHash });
  }
  return suspects;
}

export async function runNightly(deps: NightlyDeps, config: PrunelabConfig): Promise<NightlySummary> {
  const startedMs = performance.now();
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const nightlyRunId = newRunId(startedAt);
  const plan = planNight(config);
  await createNightlyRun(deps.db, nightlyRunId, startedAt);
  const log: NightLog = { findings: [], troubles: [], notes: [] };
  const finish = async (
    parts: Pick<NightlySummary, 'sweepRunId' | 'confirmRunId' | 'devices' | 'luts' | 'report'>,
  ): Promise<NightlySummary> => {
    const [status, exitCode] = outcomeOf(log);
    const summary: NightlySummary = {
      nightlyRunId,
      night: startedAt.toISOString().slice(0, 10),
      dbPath: deps.dbPath,
      ...parts,
      status,
      exitCode,
      ...log,
      wallMs: performance.now() - startedMs,
    };
    await finishNightlyRun(deps.db, nightlyRunId, { status, exitCode, summary }, now());
    return summary;
  };

  try {
    const states = await checkDevices(deps, config, log);
    if (states.length === 0)
      return await finish({ sweepRunId: null, confirmRunId: null, devices: [], luts: [], report: null });
    const swept = await sweepNight(deps, config, plan, states, nightlyRunId);
    const judgement = await judgeTonight(deps, config, states, swept, nightlyRunId);
    log.findings.push(...judgement.findings);
    log.troubles.push(...judgement.troubles);
    let confirmRunId: string | null = null;
    if (judgement.suspects.size > 0 && !deps.stop.aborted) {
      const runs = { nightlyRunId, sweepRunId: swept.sweepRunId };
      const confirmation = await confirmSuspects(
        deps,
        config,
        swept.buildAgent,
        runs,
        suspectsOnDevices(judgement, states),
      );
      confirmRunId = confirmation.confirmRunId;
      log.findings.push(...confirmation.findings);
    }
    await recordNight(deps.db, nightlyRunId, judgement.records, log.findings.map(toRecord), now());
    await setNightlyStatus(deps.db, nightlyRunId, outcomeOf(log)[0]);
    const outputs = await writeNightOutputs({
      db: deps.db,
      dbPath: deps.dbPath,
      outDir: posix.join(deps.outDir, nightlyRunId),
      sweepRunId: swept.sweepRunId,
      fitDevices: judgement.fitDevices,
      assets: deps.assets,
      now: now(),
    });
    log.notes.push(...outputs.notes);
    return await finish({
      sweepRunId: swept.sweepRunId,
      confirmRunId,
      devices: judgement.devices,
      luts: outputs.luts,
      report: outputs.report ?? null,
    });
  } catch (error) {
    await finishNightlyRun(
      deps.db,
      nightlyRunId,
      { status: 'failed', exitCode: 1, summary: { error: (error as Error).message } },
      now(),
    ).catch(() => undefined);
    throw error;
  }
}
