/**
 * What a night makes of a phone that went away during its sweep (pure; the rows are the sweep run's
 * `device_gaps`, orchestrator/scheduler/returns.ts). A phone that came back with the same build and
 * finished is a note, not lab trouble: its results are one population. One that came back with another
 * build fingerprint measured two populations tonight: lab trouble, so neither is judged against a history.
 * One that never came back is already trouble through its sweep outcome (`gone`).
 */
import type { DeviceGapRow } from '../store/schema.ts';

export interface GapVerdict {
  readonly notes: readonly string[];
  readonly troubles: readonly string[];
}

const seconds = (fromIso: string, toIso: string): string =>
  ((Date.parse(toIso) - Date.parse(fromIso)) / 1000).toFixed(1);

/** A gap as the night reads it. */
export type NightGap = Pick<
  DeviceGapRow,
  'lost_at' | 'back_at' | 'flaps' | 'fingerprint_before' | 'fingerprint_after'
>;

export function judgeGaps(gaps: readonly NightGap[]): GapVerdict {
  const notes: string[] = [];
  const troubles: string[] = [];
  for (const gap of gaps) {
    if (gap.back_at === null) continue;
    const flaps = gap.flaps === 0 ? '' : `, lost ${gap.flaps} more time(s) while being prepared`;
    notes.push(
      `lost at ${gap.lost_at}, back after ${seconds(gap.lost_at, gap.back_at)} s${flaps}; prepared again`,
    );
    if (gap.fingerprint_after !== null && gap.fingerprint_after !== gap.fingerprint_before)
      troubles.push(
        `its build fingerprint changed during the night (${gap.fingerprint_before} -> ${gap.fingerprint_after}, when it came back at ${gap.back_at}): tonight's results are two populations`,
      );
  }
  return { notes, troubles };
}
