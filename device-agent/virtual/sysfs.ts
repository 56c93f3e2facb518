/**
 * The fake sysfs, as data: every file the phone exposes under /sys, with its content, computed from the
 * CPU topology, the thermal model and the power state. Pure; sysfs-writer.ts puts it on disk.
 *
 * Layout (paths relative to the sysfs root, which commands see as /sys):
 *   class/thermal/thermal_zone{0,1,2}/{type,temp}   cpu-little, cpu-big, battery; millidegrees Celsius
 *   devices/system/cpu/{possible,present,online}    e.g. `0-1`
 *   devices/system/cpu/cpuN/{online,cpu_capacity}
 *   devices/system/cpu/cpuN/cpufreq/{cpuinfo_max_freq,cpuinfo_min_freq,scaling_cur_freq,scaling_max_freq,
 *       scaling_min_freq,scaling_governor,scaling_available_governors,related_cpus}   kHz
 *   devices/system/cpu/cpuN/topology/{core_id,cluster_id,physical_package_id,thread_siblings,core_cpus,
 *       core_siblings,package_cpus} and their _list forms: one core per CPU, one package. hwloc (and so PoCL,
 *       the OpenCL the x86_64 phone exposes) gives up without these and PoCL then exits its process.
 *   class/power_supply/battery/{present,status,capacity,health,temp}   temp in tenths of °C
 *   class/power_supply/usb/online
 *   class/backlight/panel0-backlight/{brightness,max_brightness}     brightness 0 = screen off
 */
import type { ThermalParams } from './thermal.ts';

export type CpuCluster = 'little' | 'big';

export interface CpuSpec {
  readonly id: number;
  readonly cluster: CpuCluster;
  readonly maxKhz: number;
  readonly minKhz: number;
}

/** A CPU set as the kernel prints a cpumask: hex, in comma-separated 32-bit groups, most significant first. */
export function cpuMaskText(ids: readonly number[]): string {
  const groups: number[] = [];
  for (const id of ids) {
    const g = Math.floor(id / 32);
    while (groups.length <= g) groups.push(0);
    groups[g] = ((groups[g] ?? 0) | (1 << (id % 32))) >>> 0;
  }
  if (groups.length === 0) return '0';
  return groups
    .reverse()
    .map((g, i) => (i === 0 ? g.toString(16) : g.toString(16).padStart(8, '0')))
    .join(',');
}

/** cpuN/topology: every CPU its own core (no SMT on phones), all in one package, clusters by role. */
function topologyFiles(cpu: CpuSpec, all: readonly CpuSpec[]): [string, string][] {
  const ids = all.map((other) => other.id);
  const range = cpuRange(all);
  return [
    ['core_id', `${cpu.id}\n`],
    ['cluster_id', `${cpu.cluster === 'big' ? 1 : 0}\n`],
    ['physical_package_id', '0\n'],
    ['thread_siblings', `${cpuMaskText([cpu.id])}\n`],
    ['thread_siblings_list', `${cpu.id}\n`],
    ['core_cpus', `${cpuMaskText([cpu.id])}\n`],
    ['core_cpus_list', `${cpu.id}\n`],
    ['core_siblings', `${cpuMaskText(ids)}\n`],
    ['core_siblings_list', `${range}\n`],
    ['package_cpus', `${cpuMaskText(ids)}\n`],
    ['package_cpus_list', `${range}\n`],
  ];
}

/** A Snapdragon-865-like pair of clusters; only the split by maximum frequency matters to the lab. */
const LITTLE_MAX_KHZ = 1_804_800;
const BIG_MAX_KHZ = 2_841_600;
const MIN_KHZ = 300_000;

/**
 * As many CPUs as the host has (the agent pins with sched_setaffinity on these real ids): the first half
 * little, the rest big; a single CPU is big.
 */
export function cpuTopology(cpuCount: number): readonly CpuSpec[] {
  const littleCount = Math.floor(cpuCount / 2);
  return Array.from({ length: cpuCount }, (_, id) => {
    const cluster: CpuCluster = id < littleCount ? 'little' : 'big';
    return { id, cluster, maxKhz: cluster === 'big' ? BIG_MAX_KHZ : LITTLE_MAX_KHZ, minKhz: MIN_KHZ };
  });
}

export interface PowerState {
  readonly screenOn: boolean;
  readonly charging: boolean;
  /** Battery level, percent. */
  readonly batteryLevel: number;
}

export const DEFAULT_POWER_STATE: PowerState = { screenOn: true, charging: true, batteryLevel: 85 };

export interface SysfsInputs {
  readonly cpus: readonly CpuSpec[];
  /** CPU temperature from the thermal model (°C). */
  readonly tempC: number;
  readonly thermal: ThermalParams;
  readonly power: PowerState;
  readonly governor: string;
}

/** Battery temperature lags the SoC: it moves by this share of the CPU's distance from rest. */
const BATTERY_SHARE_OF_CPU_HEAT = 0.3;

export function batteryTempC(inputs: Pick<SysfsInputs, 'tempC' | 'thermal'>): number {
  return inputs.thermal.restingC + BATTERY_SHARE_OF_CPU_HEAT * (inputs.tempC - inputs.thermal.restingC);
}

function cpuRange(cpus: readonly CpuSpec[]): string {
  return cpus.length === 1 ? '0' : `0-${cpus.length - 1}`;
}

export function sysfsFiles(inputs: SysfsInputs): ReadonlyMap<string, string> {
  const files = new Map<string, string>();
  const milliC = (tempC: number): string => `${Math.round(tempC * 1000)}\n`;
  const zones: Array<[string, number]> = [
    ['cpu-little', inputs.tempC],
    ['cpu-big', inputs.tempC],
    ['battery', batteryTempC(inputs)],
  ];
  zones.forEach(([type, tempC], index) => {
    files.set(`class/thermal/thermal_zone${index}/type`, `${type}\n`);
    files.set(`class/thermal/thermal_zone${index}/temp`, milliC(tempC));
  });

  const throttled = inputs.tempC >= inputs.thermal.throttleC;
  const range = `${cpuRange(inputs.cpus)}\n`;
  files.set('devices/system/cpu/possible', range);
  files.set('devices/system/cpu/present', range);
  files.set('devices/system/cpu/online', range);
  for (const cpu of inputs.cpus) {
    const dir = `devices/system/cpu/cpu${cpu.id}`;
    const siblings = inputs.cpus.filter((other) => other.cluster === cpu.cluster).map((other) => other.id);
    // Thermal throttling as phones do it: the big cluster is capped first.
    const curKhz =
      throttled && cpu.cluster === 'big'
        ? Math.round(cpu.maxKhz * inputs.thermal.throttledFreqShare)
        : cpu.maxKhz;
    files.set(`${dir}/online`, '1\n');
    // Capacity as the kernel's energy model scales it: 1024 for the biggest CPU.
    files.set(`${dir}/cpu_capacity`, `${Math.round((1024 * cpu.maxKhz) / BIG_MAX_KHZ)}\n`);
    files.set(`${dir}/cpufreq/cpuinfo_max_freq`, `${cpu.maxKhz}\n`);
    files.set(`${dir}/cpufreq/cpuinfo_min_freq`, `${cpu.minKhz}\n`);
    files.set(`${dir}/cpufreq/scaling_max_freq`, `${curKhz}\n`);
    files.set(`${dir}/cpufreq/scaling_min_freq`, `${cpu.minKhz}\n`);
    files.set(`${dir}/cpufreq/scaling_cur_freq`, `${curKhz}\n`);
    files.set(`${dir}/cpufreq/scaling_governor`, `${inputs.governor}\n`);
    files.set(`${dir}/cpufreq/scaling_available_governors`, 'performance powersave schedutil\n');
    files.set(`${dir}/cpufreq/related_cpus`, `${siblings.join(' ')}\n`);
    for (const [name, value] of topologyFiles(cpu, inputs.cpus)) files.set(`${dir}/topology/${name}`, value);
  }

  const { power } = inputs;
  files.set('class/power_supply/battery/present', '1\n');
  files.set('class/power_supply/battery/status', `${batteryStatus(power)}\n`);
  files.set('class/power_supply/battery/capacity', `${power.batteryLevel}\n`);
  files.set('class/power_supply/battery/health', 'Good\n');
  files.set('class/power_supply/battery/temp', `${Math.round(batteryTempC(inputs) * 10)}\n`);
  files.set('class/power_supply/usb/online', power.charging ? '1\n' : '0\n');
  files.set('class/backlight/panel0-backlight/max_brightness', '255\n');
  files.set('class/backlight/panel0-backlight/brightness', power.screenOn ? '128\n' : '0\n');
  return files;
}

function batteryStatus(power: PowerState): string {
  if (!power.charging) return 'Discharging';
  return power.batteryLevel >= 100 ? 'Full' : 'Charging';
}

/** `dumpsys battery`, in the layout of Android 13's BatteryService dump (the fields a lab reads). */
export function dumpsysBattery(inputs: Pick<SysfsInputs, 'power' | 'tempC' | 'thermal'>): string {
  const { power } = inputs;
  // BatteryManager.BATTERY_STATUS_*: 2 charging, 3 discharging, 5 full.
  const status = !power.charging ? 3 : power.batteryLevel >= 100 ? 5 : 2;
  return [
    'Current Battery Service state:',
    '  AC powered: false',
    `  USB powered: ${power.charging}`,
    '  Wireless powered: false',
    '  Max charging current: 500000',
    '  Max charging voltage: 5000000',
    `  status: ${status}`,
    '  health: 2',
    '  present: true',
    `  level: ${power.batteryLevel}`,
    '  scale: 100',
    '  voltage: 4200',
    `  temperature: ${Math.round(batteryTempC(inputs) * 10)}`,
    '  technology: Li-ion',
    '',
  ].join('\n');
}

/** `dumpsys power`: the lines that say whether the screen is on and the device awake. */
export function dumpsysPower(power: PowerState): string {
  return [
    'POWER MANAGER (dumpsys power)',
    '',
    'Power Manager State:',
    `  mWakefulness=${power.screenOn ? 'Awake' : 'Asleep'}`,
    `  mIsPowered=${power.charging}`,
    `  mPlugType=${power.charging ? 2 : 0}`,
    `  mBatteryLevel=${power.batteryLevel}`,
    '',
    `Display Power: state=${power.screenOn ? 'ON' : 'OFF'}`,
    '',
  ].join('\n');
}
