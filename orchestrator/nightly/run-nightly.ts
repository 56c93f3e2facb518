/**
 * The nightly use case: one sweep of the config on every device with sentinels between its batches, each
 * case compared with its own history on the same device and fingerprint, suspects re-measured at once
 * (interleaved with the previous night's build when the build changed and it is still cached), then LUTs
 * and the report. Everything it touches comes in through `NightlyDeps`; the CLI supplies the real ones.
 *
 * The sweep itself is `runSweep`: the night's run is stored first with its tasks (the plan's batches with
 * sentinel batches between them), then handed to runSweep as a run to continue, which runs what is pending
 * with the usual scheduler and lab hygiene. Re-measures use the scheduler directly, one batch per build and
 * round, so the two builds alternate on the phone (ABAB...).
 */
import { posix } from 'node:path';
import type { PrunelabConfig } from '../../config/schema.ts';
import type { ReportAssets } from '../../reports/types.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { findCachedBuild, keepBuild } from '../build/build-cache.ts';
import type { DeviceLab } from '../lab/device-lab.ts';
import { type DeviceQueue, runQueues } from '../scheduler/scheduler.ts';
import { recordAgentBuild, upsertDevice } from '../store/devices.ts';
import { deviceGaps } from '../store/lab.ts';
import type { StoreDb } from '../store/open.ts';
import { createRun, newRunId, setRunStatus } from '../store/runs.ts';
import type { FindingKind, NightlyStatus } from '../store/schema.ts';
import { insertTasks } from '../store/tasks.ts';
import { EmptyPlanError } from '../sweep/errors.ts';
import { planFromConfig, tasksFromPlan } from '../sweep/plan-tasks.ts';
import {
  configHash,
  prepareDevice,
  runSweep,
  type SweepDeps,
  type SweepSummary,
  schedulerOptionsOf,
} from '../sweep/run-sweep.ts';
import { TransportError } from '../transport/errors.ts';
import type { Device, DeviceInfo } from '../transport/port.ts';
import { judgeGaps } from './gaps.ts';
import {
  createNightlyRun,
  type FindingRecord,
  finishNightlyRun,
  type NightlyDeviceRecord,
  previousNight,
  readHistory,
  readLabTrouble,
  readRunMedians,
  recordNight,
  setNightlyRuns,
  setNightlyStatus,
} from './nightly-store.ts';
import { writeNightOutputs } from './outputs.ts';
import {
  type CaseJudgement,
  confirmSuspect,
  judgeCase,
  judgeSentinels,
  type NoiseRule,
  relative,
  type Verdict,
} from './regression.ts';
import { sentinelCases, sentinelHistoryKey, sentinelNameOf, withSentinels } from './sentinels.ts';

export const NIGHTLY_EXIT = { clean: 0, regression: 1, labTrouble: 3 } as const;

/** What the sweep needs, plus the build cache, the output folder and the report's assets. */
export interface NightlyDeps
  extends Pick<
    SweepDeps,
    | 'db'
    | 'dbPath'
    | 'devices'
    | 'buildAgent'
    | 'gitRevision'
    | 'hostName'
    | 'emit'
    | 'stop'
    | 'hardStop'
    | 'now'
  > {
  /** Folder of kept agent builds (by hash). */
  readonly buildCacheDir: string;
  /** Where the night's LUTs and report go (a folder per night is made inside). */
  readonly outDir: string;
  readonly assets: () => ReportAssets;
}

export interface NightlyFinding {
  readonly kind: FindingKind;
  readonly deviceId: string | null;
  readonly caseKey: string | null;
  /** The case for people: first layer, scheme, block, sparsity. */
  readonly label: string | null;
  readonly ratio: number | null;
  /** Relative change the case had to exceed (0.08 = 8%). */
  readonly threshold: number | null;
  readonly confirmed: boolean;
  readonly how: string | null;
  readonly agentHash: string | null;
  readonly previousAgentHash: string | null;
  readonly message: string;
}

export interface NightlyDevice {
  readonly deviceId: string;
  readonly model: string;
  readonly fingerprint: string;
  readonly agentHash: string;
  /** The build of the device's last night that counts as history (what tonight's is compared with). */
  readonly previousAgentHash: string | null;
  readonly sentinelFactor: number | null;
  readonly sentinelSpread: number;
  readonly cases: number;
  /** Cases with a baseline (enough history on this fingerprint). */
  readonly judged: number;
  readonly suspects: number;
  /** ok, or why tonight does not count: no-baseline, unfit, lab-trouble. */
  readonly state: 'ok' | 'no-baseline' | 'unfit' | 'lab-trouble';
  readonly notes: readonly string[];
}

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

/**
 * The queue that runs the previous night's build: the current build's queue with the other binary. After
 * a disconnect it is prepared again as the current one is, then the previous binary is pushed again too
 * (a reboot empties the work folder), so the B side of ABAB never silently turns into A.
 */
function previousBuildQueue(
  current: DeviceQueue,
  build: Pick<AgentBuild, 'hash' | 'binaryPath'>,
  agentPath: string,
): DeviceQueue {
  const prepareAgain = current.prepareAgain;
  return {
    ...current,
    agentPath,
    provenance: { ...current.provenance, agentHash: build.hash },
    ...(prepareAgain === undefined
      ? {}
      : {
          prepareAgain: async () => {
            const again = await prepareAgain();
            await again.device.push(build.binaryPath, agentPath, { mode: 0o755 });
            return previousBuildQueue(again, build, agentPath);
          },
        }),
  };
}

/** A finding in both shapes: the stored row and what the summary shows. */
function finding(
  kind: FindingKind,
  fields: Partial<Omit<NightlyFinding, 'kind' | 'message'>> & { readonly message: string },
): NightlyFinding {
  return {
    kind,
    deviceId: null,
    caseKey: null,
    label: null,
    ratio: null,
    threshold: null,
    confirmed: true,
    how: null,
    agentHash: null,
    previousAgentHash: null,
    ...fields,
  };
}

function toRecord(f: NightlyFinding): FindingRecord {
  return {
    deviceId: f.deviceId ?? undefined,
    caseKey: f.caseKey ?? undefined,
    kind: f.kind,
    ratio: f.ratio ?? undefined,
    threshold: f.threshold ?? undefined,
    confirmed: f.confirmed,
    agentHash: f.agentHash ?? undefined,
    previousAgentHash: f.previousAgentHash ?? undefined,
    message: f.message,
  };
}

/** `layer4.0.conv1 bcr 4x1 s=0.75` from a stored case_json. */
export function caseLabel(caseJson: string): string {
  try {
    const parsed = JSON.parse(caseJson) as {
      layers?: string[];
      scheme?: string;
      block?: string;
      sparsity?: number;
    };
    return [parsed.layers?.[0] ?? '?', parsed.scheme, parsed.block, `s=${parsed.sparsity}`]
      .filter((part) => part !== undefined)
      .join(' ');
  } catch {
    return '?';
  }
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

async function readTaskCases(db: StoreDb, runId: string, deviceId: string) {
  return db
    .selectFrom('tasks')
    .select(['case_key', 'case_json', 'plan_line_json'])
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .execute();
}

async function failedShare(db: StoreDb, runId: string, deviceId: string): Promise<number> {
  const rows = await db
    .selectFrom('tasks')
    .select(['status'])
    .where('run_id', '=', runId)
    .where('device_id', '=', deviceId)
    .execute();
  if (rows.length === 0) return 0;
  return rows.filter((row) => row.status !== 'done').length / rows.length;
}

export async function runNightly(deps: NightlyDeps, config: PrunelabConfig): Promise<NightlySummary> {
  const startedMs = performance.now();
  const now = deps.now ?? (() => new Date());
  const startedAt = now();
  const nightlyRunId = newRunId(startedAt);
  const night = startedAt.toISOString().slice(0, 10);
  const plan = planFromConfig(config);
  if (plan.cases.length === 0) {
    throw new EmptyPlanError(
      'the nightly sweep has no case to run: every case of config section sweep was dropped. ' +
        'Check it with `prunelab sweep --dry-run --config FILE`.',
      { dropped: plan.dropped.length, reasons: [...new Set(plan.dropped.map((d) => d.reason))] },
      { kind: 'input' },
    );
  }
  await createNightlyRun(deps.db, nightlyRunId, startedAt);
  const nightly = config.nightly;
  const rule: NoiseRule = nightly;
  const troubles: string[] = [];
  const findings: NightlyFinding[] = [];
  const notes: string[] = [];
  const summaryBase = { nightlyRunId, night, dbPath: deps.dbPath };

  /** A confirmed regression wins over lab trouble: it is the news a morning reader must not miss. */
  const outcome = (): [NightlyStatus, number] => {
    const regressions = findings.filter((f) => f.kind === 'regression' && f.confirmed).length;
    if (regressions > 0) return ['regression', NIGHTLY_EXIT.regression];
    if (troubles.length > 0) return ['lab-trouble', NIGHTLY_EXIT.labTrouble];
    return ['clean', NIGHTLY_EXIT.clean];
  };
  const finish = async (
    parts: Pick<NightlySummary, 'sweepRunId' | 'confirmRunId' | 'devices' | 'luts' | 'report'>,
  ): Promise<NightlySummary> => {
    const [status, exitCode] = outcome();
    const summary: NightlySummary = {
      ...summaryBase,
      ...parts,
      status,
      exitCode,
      findings,
      troubles,
      notes,
      wallMs: performance.now() - startedMs,
    };
    await finishNightlyRun(deps.db, nightlyRunId, { status, exitCode, summary }, now());
    return summary;
  };

  try {
    const present = new Set(deps.devices.map((device) => device.identity.id));
    for (const expected of nightly.expectDevices) {
      if (present.has(expected)) continue;
      const message = `expected device ${expected} (nightly.expectDevices) is missing tonight`;
      troubles.push(message);
      findings.push(finding('lab-trouble', { deviceId: null, message }));
    }
    const states: DeviceState[] = [];
    for (const device of deps.devices) {
      try {
        states.push({ device, info: await device.info() });
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        const message = `${device.identity.id} did not answer: ${error.message}`;
        troubles.push(message);
        findings.push(finding('lab-trouble', { deviceId: null, message }));
      }
    }
    if (states.length === 0) {
      const message = 'no device to measure tonight: check the adb server and `prunelab devices`';
      troubles.push(message);
      findings.push(finding('lab-trouble', { message }));
      return await finish({ sweepRunId: null, confirmRunId: null, devices: [], luts: [], report: null });
    }

    // ----- the sweep, with sentinels between its batches -----
    const sentinels = sentinelCases(config);
    const tasks = withSentinels(
      tasksFromPlan(plan),
      sentinels,
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
    const sweep: SweepSummary = await runSweep(
      { ...deps, devices: states.map((s) => s.device), buildAgent },
      { kind: 'resume', runId: sweepRunId },
    );
    for (const build of builds.values())
      await keepBuild(deps.buildCacheDir, build, nightly.keepBuilds, now());

    // ----- tonight against history, per device -----
    const medians = await readRunMedians(deps.db, sweepRunId);
    const deviceRecords: NightlyDeviceRecord[] = [];
    const devicesOut: NightlyDevice[] = [];
    const suspectsByDevice = new Map<
      string,
      { state: DeviceState; judgements: CaseJudgement[]; factor: number | undefined; previousHash?: string }
    >();
    const labels = new Map<string, string>();
    const fitDevices = new Map<string, string>();
    for (const state of states) {
      const deviceId = state.info.identity.id;
      const rows = medians.filter((row) => row.device_id === deviceId);
      const agentHash = builds.get(state.info.identity.abi)?.hash ?? rows[0]?.agent_hash ?? 'unknown';
      const fingerprint = state.info.buildFingerprint;
      const deviceNotes: string[] = [];
      const deviceTroubles: string[] = [];
      for (const task of await readTaskCases(deps.db, sweepRunId, deviceId))
        labels.set(task.case_key, caseLabel(task.case_json));

      const previous = await previousNight(deps.db, deviceId, nightlyRunId);
      if (previous !== undefined && previous.build_fingerprint !== fingerprint) {
        findings.push(
          finding('updated', {
            deviceId,
            message:
              `${deviceId} was updated: build fingerprint ${previous.build_fingerprint} -> ${fingerprint}; ` +
              'its history starts again tonight (no comparison with the nights before)',
          }),
        );
      }
      // The build the history was last measured with: a night the lab could not trust does not count.
      const lastUsable = await previousNight(deps.db, deviceId, nightlyRunId, { usableOnly: true });
      const buildChanged = lastUsable !== undefined && lastUsable.agent_hash !== agentHash;
      const outcome = sweep.devices.find((d) => d.deviceId === deviceId);
      if (outcome?.stoppedReason !== undefined) deviceTroubles.push(outcome.stoppedReason);
      deviceTroubles.push(...(await readLabTrouble(deps.db, sweepRunId, deviceId)));
      // A phone back during the night (same build) finished its sweep: a note; with another build, trouble.
      const gaps = judgeGaps(
        (await deviceGaps(deps.db, sweepRunId)).filter((gap) => gap.device_id === deviceId),
      );
      deviceNotes.push(...gaps.notes);
      deviceTroubles.push(...gaps.troubles);
      const failed = await failedShare(deps.db, sweepRunId, deviceId);
      if (failed > nightly.maxFailedShare)
        deviceTroubles.push(
          `${percent(failed)} of its cases did not finish (nightly.maxFailedShare: ${percent(nightly.maxFailedShare)})`,
        );

      const history = await readHistory(deps.db, deviceId, fingerprint, nightly.historyNights, nightlyRunId);
      const repeats = new Map<string, number[]>();
      const caseRows: typeof rows = [];
      for (const row of rows) {
        const name = sentinelNameOf(row.case_key);
        if (name === undefined) caseRows.push(row);
        else repeats.set(name, [...(repeats.get(name) ?? []), row.median_ns]);
      }
      const sentinelVerdict = judgeSentinels(
        [...repeats].map(([name, tonightNs]) => ({
          name,
          tonightNs,
          historyNs: history.get(sentinelHistoryKey(name))?.rawNs ?? [],
        })),
        nightly.minHistoryNights,
      );
      const unfit = sentinelVerdict.spread > nightly.maxSentinelSpread;
      if (unfit) {
        const message =
          `${deviceId} is unfit for LUT production tonight: sentinel ${sentinelVerdict.noisiest} varied ` +
          `${percent(sentinelVerdict.spread)} across its repeats (nightly.maxSentinelSpread: ${percent(nightly.maxSentinelSpread)})`;
        findings.push(
          finding('unfit', {
            deviceId,
            ratio: 1 + sentinelVerdict.spread,
            threshold: nightly.maxSentinelSpread,
            message,
          }),
        );
        troubles.push(message);
      }
      for (const trouble of deviceTroubles) {
        const message = `${deviceId}: ${trouble}`;
        troubles.push(message);
        findings.push(finding('lab-trouble', { deviceId, message }));
      }
      const trusted = !unfit && deviceTroubles.length === 0;
      const judgements = caseRows.map((row) => {
        const past = history.get(row.case_key);
        return judgeCase(
          {
            caseKey: row.case_key,
            latencyNs: row.median_ns,
            historyNormalisedNs: past?.normalisedNs ?? [],
            historyRawNs: past?.rawNs ?? [],
          },
          sentinelVerdict.factor,
          buildChanged,
          rule,
        );
      });
      const suspects = trusted ? judgements.filter((j) => j.suspect !== undefined) : [];
      if (!trusted && judgements.some((j) => j.suspect !== undefined))
        deviceNotes.push('cases beyond their threshold were not judged: the lab was not trustworthy tonight');
      if (suspects.length > 0)
        suspectsByDevice.set(deviceId, {
          state,
          judgements: suspects,
          factor: sentinelVerdict.factor,
          ...(buildChanged && lastUsable !== undefined ? { previousHash: lastUsable.agent_hash } : {}),
        });
      const judged = judgements.filter((j) => j.baseline !== undefined).length;
      if (trusted) fitDevices.set(deviceId, agentHash);
      deviceRecords.push({
        deviceId,
        fingerprint,
        agentHash,
        sentinelFactor: sentinelVerdict.factor,
        sentinelSpread: sentinelVerdict.spread,
        usable: trusted,
        note: deviceTroubles.join('; ') || undefined,
        cases: [
          ...Object.entries(sentinelVerdict.tonightNs).map(([name, latencyNs]) => ({
            caseKey: sentinelHistoryKey(name),
            sentinel: true,
            latencyNs,
            normalisedNs: latencyNs,
            ratio: undefined,
            threshold: undefined,
          })),
          ...judgements.map((j) => ({
            caseKey: j.caseKey,
            sentinel: false,
            latencyNs: j.latencyNs,
            normalisedNs: j.normalisedNs,
            ratio: j.ratio,
            threshold: j.baseline === undefined ? undefined : relative(j.baseline.thresholdLog),
          })),
        ],
      });
      devicesOut.push({
        deviceId,
        model: state.info.model,
        fingerprint,
        agentHash,
        previousAgentHash: lastUsable?.agent_hash ?? null,
        sentinelFactor: sentinelVerdict.factor ?? null,
        sentinelSpread: sentinelVerdict.spread,
        cases: judgements.length,
        judged,
        suspects: suspects.length,
        state: unfit
          ? 'unfit'
          : deviceTroubles.length > 0
            ? 'lab-trouble'
            : judged === 0
              ? 'no-baseline'
              : 'ok',
        notes: deviceNotes,
      });
    }

    // ----- two hits: re-measure the suspects at once -----
    let confirmRunId: string | null = null;
    if (suspectsByDevice.size > 0 && !deps.stop.aborted) {
      confirmRunId = newRunId(now());
      await createRun(
        deps.db,
        {
          id: confirmRunId,
          configJson: JSON.stringify(config),
          configHash: configHash(config),
          gitRevision: await deps.gitRevision(),
          host: deps.hostName,
        },
        now(),
      );
      await setNightlyRuns(deps.db, nightlyRunId, { confirmRunId });
      const verdicts = await remeasure(deps, config, buildAgent, sweepRunId, confirmRunId, suspectsByDevice);
      await setRunStatus(deps.db, confirmRunId, 'done', now());
      for (const [deviceId, entry] of suspectsByDevice) {
        const current = devicesOut.find((d) => d.deviceId === deviceId);
        for (const judgement of entry.judgements) {
          const verdict = verdicts.get(`${deviceId}\n${judgement.caseKey}`);
          if (verdict === undefined) continue;
          findings.push(
            findingOf(deviceId, judgement, verdict.verdict, {
              label: labels.get(judgement.caseKey) ?? judgement.caseKey,
              agentHash: current?.agentHash ?? null,
              previousAgentHash: entry.previousHash ?? null,
              previousMissing: verdict.previousMissing,
            }),
          );
        }
      }
    }

    await recordNight(deps.db, nightlyRunId, deviceRecords, findings.map(toRecord), now());
    await setNightlyStatus(deps.db, nightlyRunId, outcome()[0]);
    const outputs = await writeNightOutputs({
      db: deps.db,
      dbPath: deps.dbPath,
      outDir: posix.join(deps.outDir, nightlyRunId),
      sweepRunId,
      fitDevices,
      assets: deps.assets,
      now: now(),
    });
    notes.push(...outputs.notes);
    return await finish({
      sweepRunId,
      confirmRunId,
      devices: devicesOut,
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

function findingOf(
  deviceId: string,
  judgement: CaseJudgement,
  verdict: Verdict,
  context: {
    readonly label: string;
    readonly agentHash: string | null;
    readonly previousAgentHash: string | null;
    readonly previousMissing: boolean;
  },
): NightlyFinding {
  const baseline = judgement.suspectBy === 'raw' ? judgement.rawBaseline : judgement.baseline;
  const threshold = baseline === undefined ? null : relative(baseline.thresholdLog);
  const firstRatio = judgement.suspectBy === 'raw' ? judgement.rawRatio : judgement.ratio;
  const common = {
    deviceId,
    caseKey: judgement.caseKey,
    label: context.label,
    ratio: verdict.ratio,
    threshold,
    how: verdict.how,
    agentHash: context.agentHash,
    previousAgentHash: context.previousAgentHash,
  };
  const change = `${verdict.ratio >= 1 ? '+' : ''}${percent(verdict.ratio - 1)}`;
  const limit = threshold === null ? '' : ` (threshold ${percent(threshold)})`;
  const built =
    context.previousAgentHash === null
      ? ''
      : context.previousMissing
        ? `; the agent build changed ${context.previousAgentHash} -> ${context.agentHash} (the previous one is no longer cached)`
        : `; the agent build changed: ${context.previousAgentHash} (previous night) -> ${context.agentHash}`;
  switch (verdict.kind) {
    case 'regression':
    case 'improvement':
      return finding(verdict.kind, {
        ...common,
        message: `${context.label} on ${deviceId}: ${verdict.kind === 'regression' ? 'slower' : 'faster'} by ${change}${limit}, confirmed by ${verdict.how}${built}`,
      });
    case 'device-slower':
      return finding('device-slower', {
        ...common,
        message: `${context.label} on ${deviceId}: ${change} against its history${limit}, confirmed by ${verdict.how}; the device, not the code`,
      });
    default: {
      const direction = judgement.suspect === 'faster' ? 'improvement' : 'regression';
      return finding(direction, {
        ...common,
        ratio: firstRatio ?? null,
        confirmed: false,
        message: `${context.label} on ${deviceId}: suspect (${firstRatio === undefined ? '?' : percent(firstRatio - 1)}${limit}) not confirmed by ${verdict.how}`,
      });
    }
  }
}

/**
 * Re-measures each device's suspects `confirmRounds` times: the current build, then (when the build
 * changed and the previous one is cached) the previous build, one batch each, alternating.
 */
async function remeasure(
  deps: NightlyDeps,
  config: PrunelabConfig,
  buildAgent: (abi: string) => Promise<AgentBuild>,
  sweepRunId: string,
  confirmRunId: string,
  suspects: ReadonlyMap<
    string,
    { state: DeviceState; judgements: CaseJudgement[]; factor: number | undefined; previousHash?: string }
  >,
): Promise<Map<string, { verdict: Verdict; previousMissing: boolean }>> {
  const now = deps.now ?? (() => new Date());
  const current: DeviceQueue[] = [];
  const previous: DeviceQueue[] = [];
  const labs: DeviceLab[] = [];
  const missing = new Set<string>();
  const taskRows = new Map<string, Awaited<ReturnType<typeof readTaskCases>>>();
  // The confirmation is itself repeated, interleaved measurement, and its run holds two builds' cases: the
  // scheduler's re-measure of disturbed cases (one build per run) stays out of it.
  const { disturbance: _notHere, ...options } = schedulerOptionsOf(deps, config, confirmRunId);
  try {
    for (const [deviceId, entry] of suspects) {
      const keys = new Set(entry.judgements.map((j) => j.caseKey));
      taskRows.set(
        deviceId,
        (await readTaskCases(deps.db, sweepRunId, deviceId)).filter((row) => keys.has(row.case_key)),
      );
      const prepared = await prepareDevice(
        { db: deps.db, buildAgent, ...(deps.now === undefined ? {} : { now: deps.now }) },
        entry.state.device,
        entry.state.info,
        confirmRunId,
        config.lab,
      );
      if (prepared.lab !== undefined) labs.push(prepared.lab);
      current.push(prepared.queue);
      if (entry.previousHash === undefined) continue;
      const cached = await findCachedBuild(deps.buildCacheDir, entry.previousHash);
      if (cached === undefined) {
        missing.add(deviceId);
        continue;
      }
      await recordAgentBuild(deps.db, cached, now());
      const agentPath = posix.join(entry.state.info.workDir, `prunelab-agent-${cached.hash}`);
      await entry.state.device.push(cached.binaryPath, agentPath, { mode: 0o755 });
      previous.push(previousBuildQueue(prepared.queue, cached, agentPath));
    }
    const rounds = config.nightly.confirmRounds;
    for (let round = 0; round < rounds && !deps.stop.aborted; round++) {
      for (const [side, queues] of [
        ['current', current],
        ['previous', previous],
      ] as const) {
        if (queues.length === 0) continue;
        for (const queue of queues) {
          const rows = taskRows.get(queue.device.identity.id) ?? [];
          await insertTasks(
            deps.db,
            confirmRunId,
            queue.device.identity.id,
            rows.map((row, seq) => ({
              caseKey: `confirm/${side}/${round}/${row.case_key}`,
              batchIndex: round * 2 + (side === 'current' ? 0 : 1),
              seq,
              caseJson: JSON.parse(row.case_json),
              planLine: JSON.parse(row.plan_line_json),
            })),
            now(),
          );
        }
        await runQueues(queues, options);
      }
    }
  } finally {
    await Promise.all(labs.map((lab) => lab.finish().catch(() => undefined)));
  }

  const measured = await readRunMedians(deps.db, confirmRunId);
  const verdicts = new Map<string, { verdict: Verdict; previousMissing: boolean }>();
  for (const [deviceId, entry] of suspects) {
    for (const judgement of entry.judgements) {
      const of = (side: string) =>
        measured
          .filter(
            (row) =>
              row.device_id === deviceId &&
              row.case_key.startsWith(`confirm/${side}/`) &&
              row.case_key.endsWith(`/${judgement.caseKey}`),
          )
          .map((row) => row.median_ns);
      const previousNs = of('previous');
      const verdict = confirmSuspect(
        judgement,
        {
          currentNs: of('current'),
          ...(previousNs.length > 0 ? { previousNs } : {}),
          buildChanged: entry.previousHash !== undefined,
          previousMissing: missing.has(deviceId),
        },
        entry.factor,
      );
      verdicts.set(`${deviceId}\n${judgement.caseKey}`, { verdict, previousMissing: missing.has(deviceId) });
    }
  }
  return verdicts;
}
