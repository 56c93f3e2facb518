/**
 * Two hits before an alarm (orchestrator/nightly/README.md, step 5): the suspects of each device are
 * re-measured at once on the same phone, `nightly.confirmRounds` rounds, each the current build then (when
 * the build changed and the previous one is still cached) the previous night's build, one batch each,
 * so the two builds alternate on the phone (ABAB...). Re-measures use the scheduler directly, in a run of
 * their own (the night's confirm run).
 */
import { posix } from 'node:path';
import type { PrunelabConfig } from '../../config/schema.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { findCachedBuild } from '../build/build-cache.ts';
import type { DeviceLab } from '../lab/device-lab.ts';
import { type DeviceQueue, runQueues } from '../scheduler/scheduler.ts';
import { recordAgentBuild } from '../store/devices.ts';
import { createRun, newRunId, setRunStatus } from '../store/runs.ts';
import { insertTasks } from '../store/tasks.ts';
import { configHash, prepareDevice, schedulerOptionsOf } from '../sweep/run-sweep.ts';
import type { Device, DeviceInfo } from '../transport/port.ts';
import type { NightlyDeps } from './deps.ts';
import { findingOf, type NightlyFinding } from './findings.ts';
import type { DeviceSuspects } from './judge-night.ts';
import { readRunMedians, setNightlyRuns } from './nightly-store.ts';
import { readTaskCases } from './read-night.ts';
import { confirmSuspect, type Verdict } from './regression.ts';

/** A device's suspects with the device to re-measure them on. */
export interface SuspectsOnDevice extends DeviceSuspects {
  readonly device: Device;
  readonly info: DeviceInfo;
  /** Tonight's agent hash on the device. */
  readonly agentHash: string;
}

export interface Confirmation {
  readonly confirmRunId: string;
  readonly findings: readonly NightlyFinding[];
}

/**
 * The confirm phase: a run of its own for the re-measures, then one finding per suspect that got a
 * verdict (confirmed or not).
 */
/**
 * The queue that runs the previous night's build: the current build's queue with the other binary. After
 * a disconnect it is prepared again as the current one is, then the previous binary is pushed again too
 * (a reboot empties the work folder), so the B side of ABAB never silently turns into A.
 */
function previousBuildQueue(
  current: DeviceQueue,
  build: { readonly hash: string; readonly binaryPath: string },
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

export async function confirmSuspects(
  deps: NightlyDeps,
  config: PrunelabConfig,
  buildAgent: (abi: string) => Promise<AgentBuild>,
  runs: { readonly nightlyRunId: string; readonly sweepRunId: string },
  suspects: ReadonlyMap<string, SuspectsOnDevice>,
): Promise<Confirmation> {
  const now = deps.now ?? (() => new Date());
  const confirmRunId = newRunId(now());
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
  await setNightlyRuns(deps.db, runs.nightlyRunId, { confirmRunId });
  const verdicts = await remeasure(deps, config, buildAgent, runs.sweepRunId, confirmRunId, suspects);
  await setRunStatus(deps.db, confirmRunId, 'done', now());
  const findings: NightlyFinding[] = [];
  for (const [deviceId, entry] of suspects) {
    for (const judgement of entry.judgements) {
      const verdict = verdicts.get(`${deviceId}\n${judgement.caseKey}`);
      if (verdict === undefined) continue;
      findings.push(
        findingOf(deviceId, judgement, verdict.verdict, {
          label: entry.labels.get(judgement.caseKey) ?? judgement.caseKey,
          agentHash: entry.agentHash,
          previousAgentHash: entry.previousHash ?? null,
          previousMissing: verdict.previousMissing,
        }),
      );
    }
  }
  return { confirmRunId, findings };
}

/**
 * Re-measures each device's suspects `confirmRounds` times: the current build, then (when the build
 * changed and the previous one is cached) the previous build, one batch each, alternating.
 */
export async function remeasure(
  deps: NightlyDeps,
  config: PrunelabConfig,
  buildAgent: (abi: string) => Promise<AgentBuild>,
  sweepRunId: string,
  confirmRunId: string,
  suspects: ReadonlyMap<string, SuspectsOnDevice>,
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
        entry.device,
        entry.info,
        confirmRunId,
        config.lab,
        // Every lab set up, also after a phone came back mid-confirmation: each is restored at the end.
        (lab) => labs.push(lab),
      );
      current.push(prepared.queue);
      if (entry.previousHash === undefined) continue;
      const cached = await findCachedBuild(deps.buildCacheDir, entry.previousHash);
      if (cached === undefined) {
        missing.add(deviceId);
        continue;
      }
      await recordAgentBuild(deps.db, cached, now());
      const agentPath = posix.join(entry.info.workDir, `prunelab-agent-${cached.hash}`);
      await entry.device.push(cached.binaryPath, agentPath, { mode: 0o755 });
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

  return verdictsOf(await readRunMedians(deps.db, confirmRunId), suspects, missing);
}

/** Each suspect's verdict from the confirm run's medians, keyed `device id \n case key`. */
function verdictsOf(
  measured: Awaited<ReturnType<typeof readRunMedians>>,
  suspects: ReadonlyMap<string, SuspectsOnDevice>,
  missing: ReadonlySet<string>,
): Map<string, { verdict: Verdict; previousMissing: boolean }> {
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
