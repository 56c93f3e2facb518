/** `prunelab devices`: the devices a sweep can use now, with their identity. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadConfigFile } from '../../../config/read.ts';
import type { DeviceInfo } from '../../transport/port.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

interface DevicesArgs extends GlobalArgs {
  readonly config?: string;
}

interface ClusterLike {
  readonly role: string;
  readonly maxFreqKhz: number | null;
  readonly cpus: readonly number[];
}

/** One line per device; phones add manufacturer, SoC, clusters and the build fingerprint. */
export function describeDevice(info: DeviceInfo): string {
  const base = `${info.identity.id}  kind=${info.identity.kind}  abi=${info.identity.abi}  cpus=${info.cpuCount}  model=${info.model}`;
  if (info.identity.kind === 'host') return base;
  const details = info.details as {
    abiList?: readonly string[];
    manufacturer?: string;
    soc?: string;
    clusters?: readonly ClusterLike[];
  };
  const clusters = (details.clusters ?? [])
    .map(
      (c) =>
        `${c.role}:${c.cpus.join(',')}@${c.maxFreqKhz === null ? '?' : `${(c.maxFreqKhz / 1e6).toFixed(2)}GHz`}`,
    )
    .join(' ');
  const phoneAbi = details.abiList?.[0] ?? info.identity.abi;
  const phoneBase = `${info.identity.id}  kind=${info.identity.kind}  abi=${phoneAbi}  agent=${info.identity.abi}  cpus=${info.cpuCount}  model=${info.model}`;
  return `${phoneBase}  manufacturer=${details.manufacturer ?? '?'}  soc=${details.soc ?? '?'}  clusters=[${clusters}]  fingerprint=${info.buildFingerprint}`;
}

export function devicesCommand(context: CliContext): CommandModule<GlobalArgs, DevicesArgs> {
  return {
    command: 'devices',
    describe:
      'List the devices a sweep can run on: the host CPU, the phones of the adb servers and the Appium phones',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('config', {
          type: 'string',
          describe: 'prunelab.yaml whose devices section to use (adb servers; default: the local server)',
        })
        .example(
          '$0 devices',
          'one line per device: id (the serial for a phone), kind, ABI, model, SoC, clusters',
        )
        .example('$0 devices --json', 'full device info as JSON') as unknown as Argv<DevicesArgs>,
    handler: async (args: ArgumentsCamelCase<DevicesArgs>) => {
      const config = args.config === undefined ? undefined : await loadConfigFile(args.config);
      const devices = await context.listDevices(config?.devices);
      const infos = await Promise.all(devices.map((device) => device.info()));
      if (args.json) {
        printJson(context.output, { devices: infos });
        return;
      }
      for (const info of infos) context.output.out(`${describeDevice(info)}\n`);
    },
  };
}
