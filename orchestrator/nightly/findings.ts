/**
 * The night's findings: one shape for the summary and the stored row, and the sentence each verdict of a
 * re-measure becomes. Pure.
 */
import type { FindingKind } from '../store/schema.ts';
import type { FindingRecord } from './nightly-store.ts';
import { type CaseJudgement, relative, type Verdict } from './regression.ts';

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

/** A finding in both shapes: the stored row and what the summary shows. */
export function finding(
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

export function toRecord(f: NightlyFinding): FindingRecord {
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

export const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;

export function findingOf(
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
