/**
 * `prunelab prune`: apply a mapping's masks to an ONNX model's weights (pruned.onnx, every other byte as it
 * was) and hand the masks to training (masks.npz, one boolean array per weight in its own shape, plus a JSON
 * sidecar). The handler checks flags and calls the use case (orchestrator/prune/run-prune.ts).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { type PruneReport, runPrune } from '../../prune/run-prune.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

interface PruneArgs extends GlobalArgs {
  readonly model: string;
  readonly mapping: string;
  readonly out: string;
  readonly masks?: string;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function pruneText(report: PruneReport): string {
  const lines = [
    `${report.model} pruned by ${report.mapping}: ${report.zeroedWeights} of ${report.totalWeights} prunable weights zeroed ` +
      `(${((report.zeroedWeights / Math.max(1, report.totalWeights)) * 100).toFixed(1)}%)`,
    '',
    `${pad('weight', 32)} ${pad('scheme', 14)} ${pad('block', 6)} ${pad('sparsity', 8)} ${pad('density', 8)} maskFnv1a`,
    ...report.layers.map(
      (l) =>
        `${pad(l.weight, 32)} ${pad(l.scheme, 14)} ${pad(l.block ?? '-', 6)} ${pad(l.sparsity.toFixed(2), 8)} ` +
        `${pad(l.density.toFixed(4), 8)} ${l.maskFnv1a}`,
    ),
    ...report.leftDense.map((d) => `left dense: ${d.name} (ONNX node '${d.node}'): ${d.reason}`),
    ...report.skippedNodes.map((s) => `not prunable, unchanged: ${s.opType} '${s.node}': ${s.reason}`),
    '',
    `wrote ${report.out}`,
  ];
  if (report.masks !== null) lines.push(`wrote ${report.masks} and ${report.sidecar}`);
  return `${lines.join('\n')}\n`;
}

export function pruneCommand(context: CliContext): CommandModule<GlobalArgs, PruneArgs> {
  return {
    command: 'prune',
    describe:
      "Apply a mapping's masks to an ONNX model (pruned.onnx) and export them for training (masks.npz)",
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('model', {
          type: 'string',
          demandOption: true,
          describe: 'the .onnx file the mapping was made for',
        })
        .option('mapping', {
          type: 'string',
          demandOption: true,
          describe: 'mapping.json written by `prunelab map --model MODEL.onnx`',
        })
        .option('out', {
          type: 'string',
          demandOption: true,
          describe: 'where to write the pruned model (masked weights set to 0, every other byte unchanged)',
        })
        .option('masks', {
          type: 'string',
          describe:
            "also write the masks: a .npz with one boolean array per weight initializer in the weight's own shape, and a .json sidecar (scheme, block, sparsity, density per layer)",
        })
        .example(
          '$0 prune --model net.onnx --mapping mapping.json --out net-pruned.onnx --masks masks.npz',
          'pruned model, masks.npz and masks.json',
        )
        .example(
          'python3 -c "import numpy as np; m = np.load(\'masks.npz\'); print({k: v.mean() for k, v in m.items()})"',
          'the kept share of every weight, read back with numpy',
        ) as unknown as Argv<PruneArgs>,
    handler: async (args: ArgumentsCamelCase<PruneArgs>) => {
      const report = await runPrune({
        modelPath: args.model,
        mappingPath: args.mapping,
        outPath: args.out,
        ...(args.masks === undefined ? {} : { masksPath: args.masks }),
      });
      if (args.json) printJson(context.output, report);
      else context.output.out(pruneText(report));
    },
  };
}
