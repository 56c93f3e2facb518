/**
 * Tonight against history, pure: from the one read of the nightly store (`readNight`) and what the sweep
 * said of each device, the findings (updated, unfit, lab trouble), each device's state and stored record,
 * the suspects to re-measure and the devices fit for LUT production. The rule is in `regression.ts`; this
 * module applies it device by device (orchestrator/nightly/README.md, "What one night does", steps 4-7).
 */
import type { NightlyConfig } from '../../config/schema.ts';
import { finding, type NightlyFinding, percent } from './findings.ts';
import { judgeGaps } from './gaps.ts';
import type { NightlyDeviceRecord } from './nightly-store.ts';
import type { DeviceNightRead, MedianRow } from './read-night.ts';
import {
  type CaseJudgement,
  judgeCase,
  judgeSentinels,
  relative,
  type SentinelVerdict,
} from './regression.ts';
import { sentinelHistoryKey, sentinelNameOf } from './sentinels.ts';

/** What the sweep knows of a device tonight, beside what the store holds. */
export interface DeviceTonight {
  readonly deviceId: string;
  readonly model: string;
  readonly fingerprint: string;
  /** Hash of tonight's agent build for the device's ABI (undefined: take it from the measurements). */
  readonly buildHash: string | undefined;
  /** Why the scheduler stopped the device early, if it did. */
  readonly stoppedReason: string | undefined;
}

export interface DeviceNight {
  readonly tonight: DeviceTonight;
  readonly read: DeviceNightRead;
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

/** A device's cases beyond their threshold on a night the lab was trusted: what the re-measure takes. */
export interface DeviceSuspects {
  readonly judgements: readonly CaseJudgement[];
  readonly factor: number | undefined;
  /** The previous night's build, when tonight's differs from it. */
  readonly previousHash?: string;
  readonly labels: ReadonlyMap<string, string>;
}

export interface NightJudgement {
  readonly findings: readonly NightlyFinding[];
  readonly troubles: readonly string[];
  readonly devices: readonly NightlyDevice[];
  readonly records: readonly NightlyDeviceRecord[];
  /** By device id; only devices with suspects. */
  readonly suspects: ReadonlyMap<string, DeviceSuspects>;
  /** Device id -> tonight's agent hash, for the devices whose night can feed a LUT. */
  readonly fitDevices: ReadonlyMap<string, string>;
}

interface DeviceJudgement {
  readonly findings: NightlyFinding[];
  readonly troubles: string[];
  readonly device: NightlyDevice;
  readonly record: NightlyDeviceRecord;
  readonly suspects: DeviceSuspects | undefined;
  readonly trusted: boolean;
}

export function judgeNight(nights: readonly DeviceNight[], rule: NightlyConfig): NightJudgement {
  const findings: NightlyFinding[] = [];
  const troubles: string[] = [];
  const devices: NightlyDevice[] = [];
  const records: NightlyDeviceRecord[] = [];
  const suspects = new Map<string, DeviceSuspects>();
  const fitDevices = new Map<string, string>();
  for (const night of nights) {
    const judged = judgeDevice(night, rule);
    findings.push(...judged.findings);
    troubles.push(...judged.troubles);
    devices.push(judged.device);
    records.push(judged.record);
    if (judged.suspects !== undefined) suspects.set(night.tonight.deviceId, judged.suspects);
    if (judged.trusted) fitDevices.set(night.tonight.deviceId, judged.device.agentHash);
  }
  return { findings, troubles, devices, records, suspects, fitDevices };
}

/**
 * Lab trouble of the night on this device: the scheduler stopped it, hygiene flagged it, cases failed, it
 * came back from a disconnect with another build. Back with the same build and finished is no trouble.
 */
function deviceTroublesOf({ tonight, read }: DeviceNight, rule: NightlyConfig): string[] {
  const troubles: string[] = [];
  if (tonight.stoppedReason !== undefined) troubles.push(tonight.stoppedReason);
  troubles.push(...read.labTrouble);
  troubles.push(...judgeGaps(read.gaps).troubles);
  if (read.failedShare > rule.maxFailedShare)
    troubles.push(
      `${percent(read.failedShare)} of its cases did not finish (nightly.maxFailedShare: ${percent(rule.maxFailedShare)})`,
    );
  return troubles;
}

/** Tonight's sentinel repeats against their history, and the cases that are not sentinels. */
function splitSentinels(
  read: DeviceNightRead,
  minHistoryNights: number,
): { sentinels: SentinelVerdict; caseRows: MedianRow[] } {
  const repeats = new Map<string, number[]>();
  const caseRows: MedianRow[] = [];
  for (const row of read.medians) {
    const name = sentinelNameOf(row.case_key);
    if (name === undefined) caseRows.push(row);
    else repeats.set(name, [...(repeats.get(name) ?? []), row.median_ns]);
  }
  const sentinels = judgeSentinels(
    [...repeats].map(([name, tonightNs]) => ({
      name,
      tonightNs,
      historyNs: read.history.get(sentinelHistoryKey(name))?.rawNs ?? [],
    })),
    minHistoryNights,
  );
  return { sentinels, caseRows };
}

function judgeDevice(night: DeviceNight, rule: NightlyConfig): DeviceJudgement {
  const { tonight, read } = night;
  const { deviceId, fingerprint } = tonight;
  const agentHash = tonight.buildHash ?? read.medians[0]?.agent_hash ?? 'unknown';
  const findings: NightlyFinding[] = [];
  const troubles: string[] = [];
  // A phone back during the night (a reboot, a cable) and prepared again: noted, not trouble.
  const notes: string[] = [...judgeGaps(read.gaps).notes];
  if (read.previous !== undefined && read.previous.build_fingerprint !== fingerprint) {
    findings.push(
      finding('updated', {
        deviceId,
        message:
          `${deviceId} was updated: build fingerprint ${read.previous.build_fingerprint} -> ${fingerprint}; ` +
          'its history starts again tonight (no comparison with the nights before)',
      }),
    );
  }
  // The build the history was last measured with: a night the lab could not trust does not count.
  const lastUsable = read.lastUsable;
  const buildChanged = lastUsable !== undefined && lastUsable.agent_hash !== agentHash;
  const deviceTroubles = deviceTroublesOf(night, rule);
  const { sentinels, caseRows } = splitSentinels(read, rule.minHistoryNights);
  const unfit = sentinels.spread > rule.maxSentinelSpread;
  if (unfit) {
    const message =
      `${deviceId} is unfit for LUT production tonight: sentinel ${sentinels.noisiest} varied ` +
      `${percent(sentinels.spread)} across its repeats (nightly.maxSentinelSpread: ${percent(rule.maxSentinelSpread)})`;
    findings.push(
      finding('unfit', { deviceId, ratio: 1 + sentinels.spread, threshold: rule.maxSentinelSpread, message }),
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
    const past = read.history.get(row.case_key);
    return judgeCase(
      {
        caseKey: row.case_key,
        latencyNs: row.median_ns,
        historyNormalisedNs: past?.normalisedNs ?? [],
        historyRawNs: past?.rawNs ?? [],
      },
      sentinels.factor,
      buildChanged,
      rule,
    );
  });
  const suspects = trusted ? judgements.filter((j) => j.suspect !== undefined) : [];
  if (!trusted && judgements.some((j) => j.suspect !== undefined))
    notes.push('cases beyond their threshold were not judged: the lab was not trustworthy tonight');
  const judged = judgements.filter((j) => j.baseline !== undefined).length;
  const state = unfit
    ? 'unfit'
    : deviceTroubles.length > 0
      ? 'lab-trouble'
      : judged === 0
        ? 'no-baseline'
        : 'ok';
  return {
    findings,
    troubles,
    trusted,
    suspects:
      suspects.length === 0
        ? undefined
        : {
            judgements: suspects,
            factor: sentinels.factor,
            labels: read.labels,
            ...(buildChanged ? { previousHash: lastUsable.agent_hash } : {}),
          },
    record: {
      deviceId,
      fingerprint,
      agentHash,
      sentinelFactor: sentinels.factor,
      sentinelSpread: sentinels.spread,
      usable: trusted,
      note: deviceTroubles.join('; ') || undefined,
      cases: caseRecords(sentinels, judgements),
    },
    device: {
      deviceId,
      model: tonight.model,
      fingerprint,
      agentHash,
      previousAgentHash: lastUsable?.agent_hash ?? null,
      sentinelFactor: sentinels.factor ?? null,
      sentinelSpread: sentinels.spread,
      cases: judgements.length,
      judged,
      suspects: suspects.length,
      state,
      notes,
    },
  };
}

/** The night's stored cases: the sentinels (under their history keys) then the judged cases. */
function caseRecords(
  sentinels: SentinelVerdict,
  judgements: readonly CaseJudgement[],
): NightlyDeviceRecord['cases'] {
  return [
    ...Object.entries(sentinels.tonightNs).map(([name, latencyNs]) => ({
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
  ];
}
