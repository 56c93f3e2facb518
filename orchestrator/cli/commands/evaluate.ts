/**
 * `prunelab evaluate`: measured accuracy of a pruned model (a file, or the dense model with a mapping's masks
 * applied in memory) against the dense one on a data set, with ONNX Runtime on the CPU. The handler checks the
 * flags, draws the progress and prints; the work is orchestrator/evaluate/run-evaluate.ts.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UsageError } from '../../errors.ts';
import { type EvaluateReport, runEvaluate } from '../../evaluate/run-evaluate.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { countProgress } from '../progress.ts';
import { checkWholeNumbers } from '../whole-numbers.ts';

interface EvaluateArgs extends GlobalArgs {
  readonly model: string;
  readonly pruned?: string;
  readonly mapping?: string;
  readonly data: string;
  readonly batch: number;
  readonly limit?: number;
  readonly threads: number;
}

const percent = (share: number | null): string => (share === null ? '-' : `${(share * 100).toFixed(2)}%`);

export function evaluateText(report: EvaluateReport): string {
  const m = report.metrics;
  const what =
    report.candidate.kind === 'pruned'
      ? `${report.candidate.path}`
      : `${report.model} with the masks of ${report.candidate.path}`;
  const lines = [
    `${what} against the dense ${report.model} on ${m.samples} samples of ${report.data} (${report.classes} classes)`,
  ];
  if (m.top1 !== null) {
    lines.push(`  top-1 accuracy   ${percent(m.top1)}  (dense ${percent(m.denseTop1)})`);
    lines.push(`  top-5 accuracy   ${percent(m.top5)}  (dense ${percent(m.denseTop5)})`);
  } else lines.push('  no labels in the data: top-1/top-5 accuracy not measured');
  lines.push(`  top-1 agreement with the dense model  ${percent(m.agreement)}`);
  lines.push(`  mean relative output error           ${m.meanRelativeError.toPrecision(4)}`);
  lines.push(
    `  ${report.seconds.toFixed(2)} s, ${report.samplesPerSecond.toFixed(1)} samples/s through both models ` +
      `(batch ${report.batchSize}, ${report.threads} thread${report.threads === 1 ? '' : 's'})`,
  );
  return `${lines.join('\n')}\n`;
}

function checkArgs(args: EvaluateArgs): void {
  if ((args.pruned === undefined) === (args.mapping === undefined)) {
    throw new UsageError(
      'give exactly one of --pruned FILE (a pruned ONNX) or --mapping FILE (masks applied in memory)',
      {
        option: args.pruned === undefined ? '--pruned' : '--mapping',
      },
    );
  }
  checkWholeNumbers([
    ['--batch', args.batch],
    ['--threads', args.threads],
    ['--limit', args.limit],
  ]);
}

export function evaluateCommand(context: CliContext): CommandModule<GlobalArgs, EvaluateArgs> {
  return {
    command: 'evaluate',
    describe: 'Measure the accuracy of a pruned model against the dense one with ONNX Runtime (CPU)',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('model', { type: 'string', demandOption: true, describe: 'the dense .onnx model' })
        .option('pruned', { type: 'string', describe: 'a pruned .onnx written by `prunelab prune`' })
        .option('mapping', {
          type: 'string',
          describe:
            "or a mapping.json: its masks are applied to --model's weights in memory (as `prunelab prune` does)",
        })
        .option('data', {
          type: 'string',
          demandOption: true,
          describe:
            '.npz with `inputs` (float32 [N, ...model input], NCHW, preprocessed) and optional `labels` (int [N]), or a .npy of inputs',
        })
        .option('batch', { type: 'number', default: 32, describe: 'samples per ONNX Runtime call' })
        .option('limit', { type: 'number', describe: 'evaluate only the first N samples' })
        .option('threads', { type: 'number', default: 1, describe: "ONNX Runtime's intra-op threads" })
        .example(
          '$0 evaluate --model net.onnx --pruned net-pruned.onnx --data test.npz',
          'accuracy, agreement, output error',
        )
        .example(
          '$0 evaluate --model net.onnx --mapping mapping.json --data calib.npy --limit 256 --json',
          'label-free: agreement and output error on a calibration set',
        ) as unknown as Argv<EvaluateArgs>,
    handler: async (args: ArgumentsCamelCase<EvaluateArgs>) => {
      checkArgs(args);
      const bar = countProgress(context.output, 'evaluate', 'samples');
      let report: EvaluateReport;
      try {
        report = await runEvaluate({
          modelPath: args.model,
          dataPath: args.data,
          batchSize: args.batch,
          threads: args.threads,
          onProgress: (done, total) => bar.update(done, total),
          ...(args.pruned === undefined ? {} : { prunedPath: args.pruned }),
          ...(args.mapping === undefined ? {} : { mappingPath: args.mapping }),
          ...(args.limit === undefined ? {} : { limit: args.limit }),
        });
      } finally {
        bar.stop();
      }
      if (args.json) printJson(context.output, report);
      else context.output.out(evaluateText(report));
    },
  };
}
