/** `prunelab virtual-phone`: one virtual phone for `adb connect` (device-agent/virtual/README.md). */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import {
  runVirtualPhone,
  VIRTUAL_PHONE_FLAGS,
  type VirtualPhoneFlags,
} from '../../../device-agent/virtual/main.ts';
import type { CliContext, GlobalArgs } from '../context.ts';

type VirtualPhoneArgs = GlobalArgs & VirtualPhoneFlags;

export function virtualPhoneCommand(context: CliContext): CommandModule<GlobalArgs, VirtualPhoneArgs> {
  return {
    command: 'virtual-phone',
    describe: 'Start a virtual phone that the real adb server connects to (a test double: host timings)',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .options(VIRTUAL_PHONE_FLAGS)
        .example(
          '$0 virtual-phone --port 5555 --abi arm64-v8a --model "Pixel 7"',
          'then: adb connect 127.0.0.1:5555',
        ) as unknown as Argv<VirtualPhoneArgs>,
    handler: (args: ArgumentsCamelCase<VirtualPhoneArgs>) =>
      runVirtualPhone(args, { out: context.output.out, err: context.output.err }),
  };
}
