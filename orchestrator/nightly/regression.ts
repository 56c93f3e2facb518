/**
 * The nightly regression rule, pure: history -> baseline and threshold per case; tonight's sentinels ->
 * the device's factor; tonight -> suspects; re-measures -> verdict. Latencies are medians in ns.
 *
 * - Threshold per case from its own history, as IREE keeps one per benchmark: k x the robust spread of the
 *   log latency ratios to the history median (1.4826 x MAD, the normal-consistent scale), never below a
 *   floor. Log ratios make "2x slower" and "2x faster" the same distance.
 * - Sentinel normalisation: tonight's sentinels over their own history give the device's speed tonight (a
 *   hot phone slows sentinels and cases alike); cases are divided by it before they are compared.
 * - Two hits before an alarm, as FAI-PEP: a suspect is re-measured at once, interleaved with the previous
 *   night's build when the build changed; only a second hit beyond the threshold is confirmed.
 * - A build change can slow the sentinels too (they run the same kernels), which normalisation would hide:
 *   when the build changed, a case beyond its threshold on raw latency is suspect as well, and the
 *   interleaved A/B re-measure (same device, same minutes) decides between the code and the device.
 */
import { MAD_NORMAL_SCALE, medianOf } from '../stats/index.ts';

export interface NoiseRule {
  readonly minHistoryNights: number;
  readonly noiseK: number;
  /** Floor of the threshold, as a relative change (0.05 = 5%). */
  readonly minThreshold: number;
}

export interface Baseline {
  /** Median of the history. */
  readonly latencyNs: number;
  /** Threshold on |log(tonight / baseline)|. */
  readonly thresholdLog: number;
  /** The robust spread (1.4826 x MAD) of the history's log ratios. */
  readonly spreadLog: number;
  readonly nights: number;
}

/** Relative change shown to people: a log threshold of 0.0953 is "10%". */
export function relative(logValue: number): number {
  return Math.exp(logValue) - 1;
}

/** 1.4826 x the median absolute deviation of the logs from their median: a robust spread in log units. */
export function robustSpreadLog(values: readonly number[]): number {
  const logs = values.map((value) => Math.log(value));
  const center = medianOf(logs);
  return MAD_NORMAL_SCALE * medianOf(logs.map((value) => Math.abs(value - center)));
}

/** Baseline and threshold from a case's history (one latency per night); none below minHistoryNights. */
export function baselineOf(historyNs: readonly number[], rule: NoiseRule): Baseline | undefined {
  const usable = historyNs.filter((value) => Number.isFinite(value) && value > 0);
  if (usable.length < Math.max(1, rule.minHistoryNights)) return undefined;
  const latencyNs = medianOf(usable);
  const spreadLog = robustSpreadLog(usable);
  const thresholdLog = Math.max(rule.noiseK * spreadLog, Math.log1p(rule.minThreshold));
  return { latencyNs, thresholdLog, spreadLog, nights: usable.length };
}

export interface SentinelNight {
  readonly name: string;
  /** Tonight's repeats (one median per repeat through the run). */
  readonly tonightNs: readonly number[];
  /** One latency per earlier night. */
  readonly historyNs: readonly number[];
}

export interface SentinelVerdict {
  /** Median over sentinels of tonight / history; undefined when no sentinel has enough history. */
  readonly factor: number | undefined;
  /**
   * The largest robust spread of one sentinel's repeats tonight, as a relative change (1.4826 x MAD of the
   * log latencies: one repeat hit by a burst of load does not make the whole night unfit; 0 with fewer
   * than 2 repeats).
   */
  readonly spread: number;
  /** The sentinel with that spread. */
  readonly noisiest: string | undefined;
  /** Per sentinel: tonight's median. */
  readonly tonightNs: Readonly<Record<string, number>>;
}

export function judgeSentinels(
  sentinels: readonly SentinelNight[],
  minHistoryNights: number,
): SentinelVerdict {
  const ratios: number[] = [];
  let spread = 0;
  let noisiest: string | undefined;
  const tonightNs: Record<string, number> = {};
  for (const sentinel of sentinels) {
    const repeats = sentinel.tonightNs.filter((value) => Number.isFinite(value) && value > 0);
    if (repeats.length === 0) continue;
    tonightNs[sentinel.name] = medianOf(repeats);
    if (repeats.length >= 2) {
      const own = relative(robustSpreadLog(repeats));
      if (own > spread || noisiest === undefined) {
        spread = Math.max(spread, own);
        noisiest = sentinel.name;
      }
    }
    const history = sentinel.historyNs.filter((value) => Number.isFinite(value) && value > 0);
    if (history.length >= minHistoryNights) ratios.push(medianOf(repeats) / medianOf(history));
  }
  return { factor: ratios.length === 0 ? undefined : medianOf(ratios), spread, noisiest, tonightNs };
}

export type Direction = 'slower' | 'faster';

export interface CaseNight {
  readonly caseKey: string;
  readonly latencyNs: number;
  /** Earlier nights: normalised and raw latencies, one of each per night. */
  readonly historyNormalisedNs: readonly number[];
  readonly historyRawNs: readonly number[];
}

export interface CaseJudgement {
  readonly caseKey: string;
  readonly latencyNs: number;
  readonly normalisedNs: number;
  /** Normalised tonight over the normalised baseline (undefined: no baseline yet). */
  readonly ratio: number | undefined;
  /** Raw tonight over the raw baseline. */
  readonly rawRatio: number | undefined;
  readonly baseline: Baseline | undefined;
  readonly rawBaseline: Baseline | undefined;
  /** Beyond the threshold tonight: a suspect to re-measure. */
  readonly suspect: Direction | undefined;
  /** Which ratio made it suspect. */
  readonly suspectBy: 'normalised' | 'raw' | undefined;
}

function directionOf(logRatio: number, thresholdLog: number): Direction | undefined {
  if (logRatio > thresholdLog) return 'slower';
  if (logRatio < -thresholdLog) return 'faster';
  return undefined;
}

/**
 * Tonight against history. `factor` is the sentinel factor (undefined: no normalisation); `buildChanged`
 * makes a raw-latency excursion suspect too (see the module comment).
 */
export function judgeCase(
  night: CaseNight,
  factor: number | undefined,
  buildChanged: boolean,
  rule: NoiseRule,
): CaseJudgement {
  const normalisedNs = night.latencyNs / (factor ?? 1);
  const baseline = baselineOf(night.historyNormalisedNs, rule);
  const rawBaseline = baselineOf(night.historyRawNs, rule);
  const ratio = baseline === undefined ? undefined : normalisedNs / baseline.latencyNs;
  const rawRatio = rawBaseline === undefined ? undefined : night.latencyNs / rawBaseline.latencyNs;
  let suspect: Direction | undefined;
  let suspectBy: CaseJudgement['suspectBy'];
  if (baseline !== undefined && ratio !== undefined) {
    suspect = directionOf(Math.log(ratio), baseline.thresholdLog);
    if (suspect !== undefined) suspectBy = 'normalised';
  }
  if (suspect === undefined && buildChanged && rawBaseline !== undefined && rawRatio !== undefined) {
    suspect = directionOf(Math.log(rawRatio), rawBaseline.thresholdLog);
    if (suspect !== undefined) suspectBy = 'raw';
  }
  return {
    caseKey: night.caseKey,
    latencyNs: night.latencyNs,
    normalisedNs,
    ratio,
    rawRatio,
    baseline,
    rawBaseline,
    suspect,
    suspectBy,
  };
}

export interface Remeasure {
  /** The current build's re-measures (medians, one per round). */
  readonly currentNs: readonly number[];
  /** The previous night's build, interleaved with the current one; absent when it was not re-run. */
  readonly previousNs?: readonly number[];
  readonly buildChanged: boolean;
  /** The build changed but the previous one is no longer in the cache. */
  readonly previousMissing: boolean;
}

export type VerdictKind = 'regression' | 'improvement' | 'device-slower' | 'not-confirmed';

export interface Verdict {
  readonly kind: VerdictKind;
  /** The ratio that decided: current / previous build (A/B), or normalised re-measure / baseline. */
  readonly ratio: number;
  /** What decided, for people. */
  readonly how: string;
}

/** The second hit: does the re-measure confirm the suspect, and is it the code or the device? */
export function confirmSuspect(
  judgement: CaseJudgement,
  remeasure: Remeasure,
  factor: number | undefined,
): Verdict {
  const suspect = judgement.suspect;
  const baseline = judgement.suspectBy === 'raw' ? judgement.rawBaseline : judgement.baseline;
  if (suspect === undefined || baseline === undefined || remeasure.currentNs.length === 0)
    return { kind: 'not-confirmed', ratio: Number.NaN, how: 'no re-measure' };
  const threshold = baseline.thresholdLog;
  const current = medianOf(remeasure.currentNs);
  const againstHistory =
    judgement.suspectBy === 'raw'
      ? current / baseline.latencyNs
      : current / (factor ?? 1) / baseline.latencyNs;
  const againDirection = directionOf(Math.log(againstHistory), threshold);
  const rounds = remeasure.currentNs.length;
  if (remeasure.previousNs !== undefined && remeasure.previousNs.length > 0) {
    const abRatio = current / medianOf(remeasure.previousNs);
    const abDirection = directionOf(Math.log(abRatio), threshold);
    const how = `${rounds} interleaved re-measures, current vs previous build`;
    // Same phone, same minutes, only the build differs: the A/B ratio is the code's effect, whichever way
    // the case looked suspect (a slower build also slows the sentinels, so normalised it can look faster).
    if (abDirection !== undefined)
      return { kind: abDirection === 'slower' ? 'regression' : 'improvement', ratio: abRatio, how };
    // Both builds alike: whatever moved, it was not the code.
    if (againDirection === 'slower' && suspect === 'slower' && judgement.suspectBy === 'normalised')
      return { kind: 'device-slower', ratio: againstHistory, how: `${how} (both builds alike)` };
    return { kind: 'not-confirmed', ratio: abRatio, how };
  }
  const how = `${rounds} re-measures of the current build against history`;
  if (againDirection !== suspect) return { kind: 'not-confirmed', ratio: againstHistory, how };
  if (remeasure.buildChanged)
    return {
      kind: suspect === 'slower' ? 'regression' : 'improvement',
      ratio: againstHistory,
      how: `${how}${remeasure.previousMissing ? ' (previous build no longer cached: code or device cannot be told apart)' : ''}`,
    };
  // Same build as the night before: a confirmed slowdown is the device's (or its software's), not the code's.
  return suspect === 'slower'
    ? { kind: 'device-slower', ratio: againstHistory, how: `${how} (same agent build as before)` }
    : { kind: 'not-confirmed', ratio: againstHistory, how: `${how} (faster with the same build)` };
}
