/** Which devices a command's `--device` (or `--verify-on`) filter takes from those listed. */
import { UsageError } from '../errors.ts';
import type { Device } from '../transport/port.ts';

/** Whether the --device filter (none: every device) takes this device. */
export function admits(wanted: readonly string[] | undefined, device: Device): boolean {
  return (
    wanted === undefined ||
    wanted.length === 0 ||
    wanted.includes(device.identity.id) ||
    wanted.includes(device.identity.kind)
  );
}

/** `--device host|adb|appium`, `--device host:myhost` or `--device SERIAL` (an adb phone's id): by kind or by id. */
export function selectDevices(all: readonly Device[], wanted: readonly string[] | undefined): Device[] {
  if (wanted === undefined || wanted.length === 0) return [...all];
  const chosen = all.filter((device) => admits(wanted, device));
  const unknown = wanted.filter(
    (name) => !all.some((d) => d.identity.id === name || d.identity.kind === name),
  );
  if (unknown.length > 0) {
    const choices = all.map((device) => device.identity.id).join(', ');
    throw new UsageError(
      `--device: expected a device id (an adb serial for a phone) or kind from \`prunelab devices\` (${choices || 'no device found'}, or a kind: host, adb, appium); got ${unknown.map((name) => `'${name}'`).join(', ')}`,
      { option: '--device' },
    );
  }
  return chosen;
}
