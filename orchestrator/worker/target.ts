/**
 * Which devices may run an enqueued run's cases: one device (`device=SERIAL`) or every device that shares a
 * model, an ABI or a build fingerprint (`model=Pixel 7`, `abi=arm64-v8a`, `fingerprint=google/...`), so that
 * several hosts with identical phones share the work. A target is stored as its text; a device answers to
 * the four texts `targetsOf` gives, and a claim takes a batch whose target is one of them. Pure.
 */
import { UsageError } from '../errors.ts';
import type { WorkerDevice } from '../store/workers.ts';

export const TARGET_KINDS = ['device', 'model', 'abi', 'fingerprint'] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export interface Target {
  readonly kind: TargetKind;
  readonly value: string;
}

export function formatTarget(target: Target): string {
  return `${target.kind}=${target.value}`;
}

/** `--target model=Pixel 7` into a target; bad input names the flag and the expected forms. */
export function parseTarget(text: string): Target {
  const at = text.indexOf('=');
  const kind = at < 0 ? text : text.slice(0, at);
  const value = at < 0 ? '' : text.slice(at + 1).trim();
  if (!(TARGET_KINDS as readonly string[]).includes(kind) || value === '') {
    throw new UsageError(
      `--target: expected ${TARGET_KINDS.map((k) => `${k}=...`).join(', ')} (e.g. --target "model=Pixel 7", ` +
        `--target device=R58M12345); got '${text}'. \`prunelab devices\` shows each device's id, model, abi and fingerprint.`,
      { option: '--target' },
    );
  }
  return { kind: kind as TargetKind, value };
}

/** The target texts a device answers to. */
export function targetsOf(device: WorkerDevice): string[] {
  return [
    formatTarget({ kind: 'device', value: device.id }),
    formatTarget({ kind: 'model', value: device.model }),
    formatTarget({ kind: 'abi', value: device.abi }),
    formatTarget({ kind: 'fingerprint', value: device.fingerprint }),
  ];
}

/** Whether the device may run cases of `target` (a stored target text). */
export function matches(target: string, device: WorkerDevice): boolean {
  return targetsOf(device).includes(target);
}
