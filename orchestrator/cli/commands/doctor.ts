/** `prunelab doctor`: which toolchains and tools are here, their versions, and what to install. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { PrunelabError } from '../../errors.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

export function doctorCommand(context: CliContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'doctor',
    describe: 'Check the compilers, adb, qemu and chromium prunelab uses, and say what to install',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .example('$0 doctor', 'list each tool with its version, or the package to install')
        .example('$0 doctor --json', 'the same as JSON'),
    handler: async (args: ArgumentsCamelCase<GlobalArgs>) => {
      const tools = await context.detectToolchains();
      const missingRequired = tools.filter((tool) => tool.required && !tool.present);
      if (args.json) printJson(context.output, { ok: missingRequired.length === 0, tools });
      else {
        for (const tool of tools) {
          const state = tool.present ? `ok       ${tool.version ?? ''}` : `missing  ${tool.fix}`;
          context.output.out(
            `${tool.name.padEnd(22)} ${state}\n${''.padEnd(22)} (${tool.purpose}${tool.required ? '' : ', optional'})\n`,
          );
        }
      }
      if (missingRequired.length > 0) {
        throw new PrunelabError(
          `missing required tools: ${missingRequired.map((tool) => `${tool.name} (${tool.fix})`).join(', ')}`,
          { missing: missingRequired.map((tool) => tool.name) },
        );
      }
    },
  };
}
