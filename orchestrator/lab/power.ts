/** Screen and charging state from `dumpsys battery` and `dumpsys power` (pure parsers). */

export interface PowerState {
  /** null when dumpsys did not say. */
  readonly screenOn: boolean | null;
  readonly charging: boolean | null;
  readonly batteryLevel: number | null;
}

export const POWER_COMMAND =
  'dumpsys battery 2>/dev/null; echo __PL_POWER__; dumpsys power 2>/dev/null; true';

export function parsePowerState(output: string): PowerState {
  const [battery = '', power = ''] = output.split('__PL_POWER__');
  const plugged = [...battery.matchAll(/^\s*(AC|USB|Wireless|Dock) powered:\s*(true|false)/gim)].map(
    (match) => match[2] === 'true',
  );
  const level = /^\s*level:\s*(\d+)/im.exec(battery);
  const wakefulness = /mWakefulness=(\w+)/.exec(power)?.[1];
  const display = /Display Power:\s*state=(\w+)/.exec(power)?.[1];
  const screenOn =
    display !== undefined
      ? display.toUpperCase() === 'ON'
      : wakefulness === undefined
        ? null
        : wakefulness === 'Awake';
  return {
    screenOn,
    charging: plugged.length === 0 ? null : plugged.some(Boolean),
    batteryLevel: level === null ? null : Number(level[1]),
  };
}
