/**
 * `prunelab sensitivity`: per prunable layer and per candidate (scheme, block, sparsity), the measured drop of
 * the model's accuracy (or agreement) with that layer alone pruned, written to sensitivity.json for
 * `prunelab map --sensitivity`. The handler checks the flags, draws the progress and prints; the work is
 * orchestrator/sensitivity/run-sensitivity.ts.
 */
import { availableParallelism } from 'node:os';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { runSensitivity, type SensitivityOutcome } from '../../sensitivity/run-sensitivity.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { countProgress, formatDurationMs } from '../progress.ts';
import { checkWholeNumbers } from '../whole-numbers.ts';
import { parseBlocks, parseSchemes, parseSparsities } from './map.ts';

interface SensitivityArgs extends GlobalArgs {
  readonly model: string;
  readonly data: string;
  readonly out: string;
  readonly lut?: string;
  readonly lutThreads: number;
  readonly schemes?: string;
  readonly blocks?: string;
  readonly sparsities?: string;
  readonly limit?: number;
  readonly batch: number;
  readonly threads: number;
  readonly workers: number;
  readonly cache?: string;
}

const percent = (share: number | null): string => (share === null ? '-' : `${(share * 100).toFixed(2)}%`);

export function sensitivityText(outcome: SensitivityOutcome): string {
  const { file } = outcome;
  const t = file.timing;
  const metric = file.metric === 'top1' ? 'top-1 accuracy' : 'top-1 agreement with the dense model';
  const lines = [
    `${file.model.path} on ${file.data.samples} samples of ${file.data.path}: ${metric}, dense ${
      file.metric === 'top1' ? percent(file.dense.top1) : '100%'
    }`,
  ];
  for (const layer of file.layers) {
    if (layer.candidates.length === 0) {
      lines.push(`  ${layer.name}: no candidate`);
      continue;
    }
    const worst = layer.candidates.reduce((w, c) => (c.drop > w.drop ? c : w));
    const drops = layer.candidates.map((c) => c.drop);
    lines.push(
      `  ${layer.name} (${layer.shapeKey}): ${layer.candidates.length} candidates, drop ${percent(Math.min(...drops))} to ` +
        `${percent(Math.max(...drops))} (worst ${worst.scheme}${worst.block === null ? '' : ` ${worst.block}`} @${worst.sparsity})`,
    );
  }
  if (file.refused.length > 0)
    lines.push(`  ${file.refused.length} options not measured (listed under refused with --json)`);
  lines.push(
    `${t.candidates} candidates: ${t.measured} measured now in ${formatDurationMs(t.wallMs)} ` +
      `(${t.wallPerMeasuredMs === null ? '-' : `${t.wallPerMeasuredMs.toFixed(1)} ms`} wall per candidate with ` +
      `${t.workers} worker${t.workers === 1 ? '' : 's'} x ${t.threadsPerSession} thread${t.threadsPerSession === 1 ? '' : 's'}), ` +
      `${t.cached} from the cache; one candidate takes ${t.perCandidateMs === null ? '-' : `${t.perCandidateMs.toFixed(1)} ms`} ` +
      `in one worker; starting the workers ${t.poolStartMs.toFixed(0)} ms, the dense pass ${t.denseMs.toFixed(1)} ms`,
  );
  lines.push(`wrote ${outcome.outPath} (cache: ${outcome.cachePath})`);
  return `${lines.join('\n')}\n`;
}

function checkArgs(args: SensitivityArgs): void {
  checkWholeNumbers([
    ['--batch', args.batch],
    ['--threads', args.threads],
    ['--workers', args.workers],
    ['--lut-threads', args.lutThreads],
    ['--limit', args.limit],
  ]);
}

export function sensitivityCommand(context: CliContext): CommandModule<GlobalArgs, SensitivityArgs> {
  return {
    command: 'sensitivity',
    describe:
      "Measure each layer's accuracy drop per pruning candidate with ONNX Runtime (for map --sensitivity)",
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('model', { type: 'string', demandOption: true, describe: 'the dense .onnx model' })
        .option('data', {
          type: 'string',
          demandOption: true,
          describe:
            '.npz with `inputs` (float32 [N, ...model input]) and optional `labels`, or a .npy of inputs',
        })
        .option('out', { type: 'string', demandOption: true, describe: 'sensitivity.json to write' })
        .option('lut', {
          type: 'string',
          describe: 'measure the options `prunelab map` prices with this LUT',
        })
        .option('lut-threads', {
          type: 'number',
          default: 1,
          describe: "the LUT's thread count that prices them",
        })
        .option('schemes', {
          type: 'string',
          describe: 'schemes (without --lut: required; with it: narrows)',
        })
        .option('blocks', { type: 'string', describe: 'BRxBC blocks for bcr and block-punched' })
        .option('sparsities', {
          type: 'string',
          describe: "sparsities, e.g. 0.5,0.75,0.9 (default: map's grid)",
        })
        .option('limit', { type: 'number', describe: 'use only the first N samples' })
        .option('batch', { type: 'number', default: 64, describe: 'samples per ONNX Runtime call' })
        .option('threads', {
          type: 'number',
          default: 1,
          describe: 'ONNX Runtime intra-op threads per session',
        })
        .option('workers', {
          type: 'number',
          default: availableParallelism(),
          describe: 'worker threads, each with its own ONNX Runtime session (default: the cores)',
        })
        .option('cache', {
          type: 'string',
          describe: 'cache folder (default: .prunelab-sensitivity-cache beside --out)',
        })
        .example(
          '$0 sensitivity --model net.onnx --data calib.npz --lut lut-host.json --out sensitivity.json',
          'every option the mapper weighs',
        )
        .example(
          '$0 sensitivity --model net.onnx --data calib.npz --schemes unstructured,bcr --blocks 4x1 --sparsities 0.5,0.75,0.9 --out s.json',
          'a grid of your own',
        ) as unknown as Argv<SensitivityArgs>,
    handler: async (args: ArgumentsCamelCase<SensitivityArgs>) => {
      checkArgs(args);
      const schemes = parseSchemes(args.schemes);
      const blocks = parseBlocks(args.blocks);
      const sparsities = parseSparsities(args.sparsities);
      const bar = countProgress(context.output, 'sensitivity', 'candidates');
      let outcome: SensitivityOutcome;
      try {
        outcome = await runSensitivity({
          modelPath: args.model,
          dataPath: args.data,
          outPath: args.out,
          lutThreads: args.lutThreads,
          batchSize: args.batch,
          threads: args.threads,
          workers: args.workers,
          ...(args.lut === undefined ? {} : { lutPath: args.lut }),
          ...(schemes === undefined ? {} : { schemes }),
          ...(blocks === undefined ? {} : { blocks }),
          ...(sparsities === undefined ? {} : { sparsities }),
          ...(args.limit === undefined ? {} : { limit: args.limit }),
          ...(args.cache === undefined ? {} : { cacheDir: args.cache }),
          onProgress: (event) => {
            if (event.type === 'start') {
              context.output.err(
                `sensitivity: ${event.toMeasure} candidates to measure on ${event.workers} worker${event.workers === 1 ? '' : 's'} (${event.cached} in the cache)\n`,
              );
              return;
            }
            const what =
              event.error === undefined
                ? `${event.label} in ${event.wallMs?.toFixed(0)} ms`
                : `${event.label} FAILED: ${event.error}`;
            bar.update(event.done, event.total, what);
          },
        });
      } finally {
        bar.stop();
      }
      if (args.json) printJson(context.output, outcome.file);
      else context.output.out(sensitivityText(outcome));
    },
  };
}
