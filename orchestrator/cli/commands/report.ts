/**
 * `prunelab report`: one self-contained HTML file for a run (provenance, latency, speedup, telemetry), with
 * the quality of the LUTs and the mappings given. Opens from file:// with no network.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_STORE_PATH } from '../../../config/defaults.ts';
import { loadReportAssets } from '../../report/assets.ts';
import { generateReport, type ReportSummary } from '../../report/generate-report.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

interface ReportArgs extends GlobalArgs {
  readonly db: string;
  readonly run?: string;
  readonly lut?: readonly string[];
  readonly mapping?: readonly string[];
  readonly out?: string;
}

export function describeReport(summary: ReportSummary): string {
  const sizeMiB = summary.sizeBytes / (1024 * 1024);
  return (
    `Report: ${summary.outPath} (run ${summary.runId}, ${summary.cases} cases` +
    `${summary.luts > 0 ? `, ${summary.luts} LUT(s)` : ''}${summary.mappings > 0 ? `, ${summary.mappings} mapping(s)` : ''}; ` +
    `${sizeMiB.toFixed(2)} MiB, rendered in ${Math.round(summary.renderMs)} ms)\n`
  );
}

export function reportCommand(context: CliContext): CommandModule<GlobalArgs, ReportArgs> {
  return {
    command: 'report',
    describe: 'Write one self-contained HTML report of a run (charts, provenance, LUT quality, mappings)',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('db', {
          type: 'string',
          default: DEFAULT_STORE_PATH,
          describe: 'SQLite file or postgres:// URL written by sweep',
        })
        .option('run', { type: 'string', describe: 'run to report (default: the latest run in the file)' })
        .option('lut', {
          type: 'string',
          array: true,
          describe: 'LUT file written by `prunelab fit` (repeatable): adds the LUT quality section',
        })
        .option('mapping', {
          type: 'string',
          array: true,
          describe: 'mapping.json written by `prunelab map` (repeatable): adds the mappings section',
        })
        .option('out', { type: 'string', describe: 'HTML file to write (default: prunelab-report-RUN.html)' })
        .example('$0 report --db lab.db', 'the latest run of lab.db as prunelab-report-RUN.html')
        .example(
          '$0 report --db lab.db --run 20250101-120000-3fa9 --lut luts/lut-host_vm.json --out run.html',
          'one run, with the quality of its LUT',
        ) as unknown as Argv<ReportArgs>,
    handler: async (args: ArgumentsCamelCase<ReportArgs>) => {
      const store = await context.openStore(args.db, { mustExist: true });
      let summary: ReportSummary;
      try {
        summary = await generateReport(
          { db: store.db, dbPath: store.path, assets: loadReportAssets },
          {
            ...(args.run === undefined ? {} : { runId: args.run }),
            lutPaths: args.lut ?? [],
            mappingPaths: args.mapping ?? [],
            ...(args.out === undefined ? {} : { outPath: args.out }),
          },
        );
      } finally {
        await store.close();
      }
      if (args.json) printJson(context.output, summary);
      else context.output.out(describeReport(summary));
    },
  };
}
