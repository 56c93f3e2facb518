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

/** One shell command, one line per zone (`T zone type milliC`) and per CPU (`F cpuN cur max`). */
export const TELEMETRY_COMMAND =
  'for z in /sys/class/thermal/thermal_zone*; do [ -e $z/temp ] && ' +
  'echo "T ${z##*/} $(cat $z/type 2>/dev/null || echo -) $(cat $z/temp 2>/dev/null)"; done; ' +
  'for c in /sys/devices/system/cpu/cpu[0-9]*; do ' +
  'echo "F ${c##*/} $(cat $c/cpufreq/scaling_cur_freq 2>/dev/null || echo -) $(cat $c/cpufreq/scaling_max_freq 2>/dev/null || echo -)"; done; true';

const number = (text: string | undefined): number | null => {
  if (text === undefined || !/^-?\d+$/.test(text)) return null;
  return Number(text);
};

/** Some kernels report whole degrees, most millidegrees: a value under 1000 is taken as degrees. */
function toCelsius(raw: number): number {
  return Math.abs(raw) >= 1000 ? raw / 1000 : raw;
}

export function parseTelemetry(output: string): LabTelemetry {
  const temperaturesC: Record<string, number> = {};
  const curFreqKhz: Record<string, number | null> = {};
  const maxFreqKhz: Record<string, number | null> = {};
  const seenTypes = new Map<string, number>();
  for (const line of output.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === 'T' && fields.length >= 4) {
      const [, zone = '', type = '-', raw] = fields;
      const value = number(raw);
      if (value === null) continue;
      const name = type === '-' ? zone : type;
      seenTypes.set(name, (seenTypes.get(name) ?? 0) + 1);
      const key = (seenTypes.get(name) ?? 0) > 1 || name in temperaturesC ? `${name}@${zone}` : name;
      temperaturesC[key] = toCelsius(value);
    } else if (fields[0] === 'F' && fields.length >= 4) {
      const [, cpu = '', cur, max] = fields;
      curFreqKhz[cpu] = number(cur);
      maxFreqKhz[cpu] = number(max);
    }
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
