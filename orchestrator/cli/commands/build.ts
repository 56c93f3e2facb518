/** `prunelab build`: build the agent for one ABI or all, skipping builds whose hash is unchanged. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { BUILDABLE_ABIS } from '../../build/targets.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

interface BuildArgs extends GlobalArgs {
  readonly abi: string;
  readonly force: boolean;
}

export function buildCommand(context: CliContext): CommandModule<GlobalArgs, BuildArgs> {
  return {
    command: 'build',
    describe: 'Build the benchmark agent (cached by a hash of sources, compiler version and flags)',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('abi', {
          type: 'string',
          choices: [...BUILDABLE_ABIS, 'all'],
          default: 'host',
          describe:
            'target ABI; arm64-v8a uses the NDK when ANDROID_NDK_HOME is set, else aarch64-linux-gnu-gcc',
        })
        .option('force', { type: 'boolean', default: false, describe: 'rebuild even when the hash matches' })
        .example('$0 build', 'build the host agent (no-op when up to date)')
        .example('$0 build --abi all --json', 'build every ABI, print hashes and paths as JSON'),
    handler: async (args: ArgumentsCamelCase<BuildArgs>) => {
      const abis = args.abi === 'all' ? [...BUILDABLE_ABIS] : [args.abi];
      const builds = [];
      for (const abi of abis) builds.push(await context.buildAgent(abi, { force: args.force }));
      if (args.json) {
        printJson(context.output, { builds });
        return;
      }
      for (const build of builds) {
        const how = build.cached ? 'up to date' : `built in ${(build.durationMs / 1000).toFixed(1)} s`;
        context.output.out(
          `${build.abi}: ${build.binaryPath}\n  hash ${build.hash} (${how}), ${build.compiler}\n`,
        );
      }
    },
  };
}
