/**
 * Device telemetry for lab hygiene: temperatures and CPU frequencies read from sysfs with one shell
 * command, and the pure parser of its output. The agent records telemetry around each case too; this is the
 * batch-level reading the thermal gate and the frequency check use, taken without starting the agent.
 */

export interface LabTelemetry {
  /** °C per thermal zone, keyed by its `type` (or `thermal_zoneN`); a repeated type gets `@thermal_zoneN`. */
  readonly temperaturesC: Readonly<Record<string, number>>;
  /** Current frequency per CPU (`cpuN`), kHz; null when the file is absent. */
  readonly curFreqKhz: Readonly<Record<string, number | null>>;
  /** Current frequency cap per CPU (`scaling_max_freq`), kHz: a thermal cap lowers it. */
  readonly maxFreqKhz: Readonly<Record<string, number | null>>;
}

/**
 * One command and one process (`grep -H . FILES`: `path:value` lines), because every process a phone's
 * shell starts costs milliseconds and this runs around every batch. Missing files are skipped.
 */
export const TELEMETRY_COMMAND =
  'grep -H . /sys/class/thermal/thermal_zone*/type /sys/class/thermal/thermal_zone*/temp ' +
  '/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq /sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_max_freq ' +
  '2>/dev/null; true';

const number = (text: string | undefined): number | null => {
  if (text === undefined || !/^-?\d+$/.test(text)) return null;
  return Number(text);
};

/** Some kernels report whole degrees, most millidegrees: a value under 1000 is taken as degrees. */
function toCelsius(raw: number): number {
  return Math.abs(raw) >= 1000 ? raw / 1000 : raw;
}

export function parseTelemetry(output: string): LabTelemetry {
  const zones = new Map<string, { type?: string; raw?: number }>();
  const curFreqKhz: Record<string, number | null> = {};
  const maxFreqKhz: Record<string, number | null> = {};
  for (const line of output.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    const zone = /\/(thermal_zone\d+)\/(type|temp)$/.exec(path);
    if (zone !== null) {
      const entry = zones.get(zone[1] ?? '') ?? {};
      if (zone[2] === 'type') entry.type = value;
      else {
        const raw = number(value);
        if (raw !== null) entry.raw = raw;
      }
      zones.set(zone[1] ?? '', entry);
      continue;
    }
    const cpu = /\/(cpu\d+)\/cpufreq\/scaling_(cur|max)_freq$/.exec(path);
    if (cpu !== null) (cpu[2] === 'cur' ? curFreqKhz : maxFreqKhz)[cpu[1] ?? ''] = number(value);
  }
  // Keyed like the agent's telemetry: the zone's type, with `@thermal_zoneN` when a type repeats.
  const temperaturesC: Record<string, number> = {};
  const typeCount = new Map<string, number>();
  for (const [name, entry] of zones) {
    const type = entry.type ?? name;
    typeCount.set(type, (typeCount.get(type) ?? 0) + 1);
  }
  for (const [name, entry] of zones) {
    if (entry.raw === undefined) continue;
    const type = entry.type ?? name;
    temperaturesC[(typeCount.get(type) ?? 0) > 1 ? `${type}@${name}` : type] = toCelsius(entry.raw);
  }
  return { temperaturesC, curFreqKhz, maxFreqKhz };
}

/** Zones that are not the SoC: the battery lags the CPU and would hide a hot die. */
const NOT_CPU = /battery|bms|charger|usb|pa_therm|xo_therm|skin|quiet|case|ambient/i;

/**
 * The temperature the gate compares with the threshold: the hottest CPU/SoC zone, or the hottest zone of
 * any kind when none looks like the SoC. Undefined when the device exposes no readable zone.
 */
export function cpuTemperatureC(telemetry: LabTelemetry): number | undefined {
  const entries = Object.entries(telemetry.temperaturesC);
  const cpu = entries.filter(([name]) => !NOT_CPU.test(name));
  const pool = cpu.length > 0 ? cpu : entries;
  if (pool.length === 0) return undefined;
  return Math.max(...pool.map(([, value]) => value));
}
