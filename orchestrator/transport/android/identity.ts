/**
 * Who an Android phone is, from `getprop` and sysfs (pure), whichever transport reached it. Clusters are the CPUs grouped by their maximum
 * frequency, fastest first, the same rule the agent's `info` applies (device-agent/README.md, "info"):
 * the lab pins from the agent's own answer; this copy lets `prunelab devices` show clusters without
 * pushing the agent.
 */
import type { DeviceIdentity, DeviceInfo } from '../port.ts';

export interface CpuMaxFreq {
  readonly cpu: number;
  readonly maxFreqKhz: number | null;
}

export interface ClusterSummary {
  readonly role: 'big' | 'mid' | 'little';
  readonly maxFreqKhz: number | null;
  readonly cpus: readonly number[];
}

export interface AndroidIdentityDetails {
  readonly serial: string;
  readonly manufacturer: string;
  readonly brand: string;
  readonly soc: string;
  readonly abiList: readonly string[];
  readonly androidRelease: string;
  readonly sdk: string;
  readonly clusters: readonly ClusterSummary[];
}

/** `/sys/devices/system/cpu/possible` style lists: `0-3,6` -> [0, 1, 2, 3, 6]. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) continue;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The shell command whose output `parseCpuFreqs` reads: the CPU folders, then `path:kHz` lines. */
export const CPU_FREQS_COMMAND =
  'ls -d /sys/devices/system/cpu/cpu[0-9]*; ' +
  'grep -H . /sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq 2>/dev/null; true';

export function parseCpuFreqs(output: string): CpuMaxFreq[] {
  const freqs = new Map<number, number | null>();
  for (const line of output.split('\n')) {
    const folder = /\/cpu(\d+)$/.exec(line.trim());
    if (folder !== null) {
      const cpu = Number(folder[1]);
      if (!freqs.has(cpu)) freqs.set(cpu, null);
      continue;
    }
    const freq = /\/cpu(\d+)\/cpufreq\/cpuinfo_max_freq:(\d+)\s*$/.exec(line);
    if (freq !== null) freqs.set(Number(freq[1]), Number(freq[2]));
  }
  return [...freqs].map(([cpu, maxFreqKhz]) => ({ cpu, maxFreqKhz })).sort((a, b) => a.cpu - b.cpu);
}

export function clustersFromFreqs(cpus: readonly CpuMaxFreq[]): ClusterSummary[] {
  const byFreq = new Map<number | null, number[]>();
  for (const { cpu, maxFreqKhz } of cpus) byFreq.set(maxFreqKhz, [...(byFreq.get(maxFreqKhz) ?? []), cpu]);
  const freqs = [...byFreq.keys()].sort((a, b) => (b ?? -1) - (a ?? -1));
  return freqs.map((freq, index) => ({
    role: index === 0 ? 'big' : index === freqs.length - 1 ? 'little' : 'mid',
    maxFreqKhz: freq,
    cpus: byFreq.get(freq) ?? [],
  }));
}

export function identityDetails(
  serial: string,
  properties: Readonly<Record<string, string>>,
  clusters: readonly ClusterSummary[],
): AndroidIdentityDetails {
  const prop = (key: string): string => properties[key] ?? '';
  return {
    serial,
    manufacturer: prop('ro.product.manufacturer'),
    brand: prop('ro.product.brand'),
    soc: prop('ro.soc.model') || prop('ro.board.platform') || prop('ro.hardware'),
    abiList: prop('ro.product.cpu.abilist')
      .split(',')
      .filter((abi) => abi !== ''),
    androidRelease: prop('ro.build.version.release'),
    sdk: prop('ro.build.version.sdk'),
    clusters,
  };
}

export interface AndroidInfoInputs {
  readonly identity: DeviceIdentity;
  /** The phone's serial or udid. */
  readonly serial: string;
  readonly properties: Readonly<Record<string, string>>;
  /** The output of CPU_FREQS_COMMAND. */
  readonly cpuFreqsOutput: string;
  readonly workDir: string;
  /** What the transport adds to the details (its server, its session). */
  readonly transportDetails: Readonly<Record<string, unknown>>;
}

/** The Device port's `info` of a phone, from its getprop listing and CPU folders. */
export function androidDeviceInfo(inputs: AndroidInfoInputs): DeviceInfo {
  const { properties, serial } = inputs;
  const freqs = parseCpuFreqs(inputs.cpuFreqsOutput);
  return {
    identity: inputs.identity,
    model: properties['ro.product.model'] ?? 'unknown model',
    buildFingerprint: properties['ro.build.fingerprint'] ?? `unknown build of ${inputs.identity.id}`,
    cpuCount: freqs.length,
    workDir: inputs.workDir,
    details: { ...identityDetails(serial, properties, clustersFromFreqs(freqs)), ...inputs.transportDetails },
  };
}
