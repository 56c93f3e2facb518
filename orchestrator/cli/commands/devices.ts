/** `prunelab devices`: the devices a sweep can use now. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

export function devicesCommand(context: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'devices',
    describe: 'List the devices a sweep can run on (the host CPU; phones arrive with the adb transport)',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .example('$0 devices', 'one line per device: id, kind, ABI, model')
        .example('$0 devices --json', 'full device info as JSON'),
    handler: async (args: ArgumentsCamelCase<GlobalArgs>) => {
      const devices = await context.listDevices();
      const infos = await Promise.all(devices.map((device) => device.info()));
      if (args.json) {
        printJson(context.output, { devices: infos });
        return;
      }
      for (const info of infos) {
        context.output.out(
          `${info.identity.id}  kind=${info.identity.kind}  abi=${info.identity.abi}  cpus=${info.cpuCount}  model=${info.model}\n`,
        );
      }
    },
  };
}
