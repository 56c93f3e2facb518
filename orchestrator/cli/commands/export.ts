/** `prunelab export`: one row per measurement (case, statistics, device, run) as CSV or JSON lines. */
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_STORE_PATH } from '../../../config/defaults.ts';
import { UsageError } from '../../errors.ts';
import { exportMeasurements } from '../../export/export-measurements.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../../export/rows.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

interface ExportArgs extends GlobalArgs {
  readonly db: string;
  readonly run?: string;
  readonly format: ExportFormat;
  readonly out?: string;
}

export function exportCommand(context: CliContext): CommandModule<GlobalArgs, ExportArgs> {
  return {
    command: 'export',
    describe: 'Write one row per measurement (case parameters, statistics, device, run) as CSV or JSONL',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('db', {
          type: 'string',
          default: DEFAULT_STORE_PATH,
          describe: 'SQLite file or postgres:// URL written by sweep',
        })
        .option('run', { type: 'string', describe: 'only this run (default: every run in the file)' })
        .option('format', {
          type: 'string',
          choices: EXPORT_FORMATS,
          default: 'csv' as ExportFormat,
          describe: 'output format',
        })
        .option('out', { type: 'string', describe: 'file to write (default: stdout)' })
        .example('$0 export --db prunelab.db --format csv --out results.csv', 'every measurement as CSV')
        .example(
          '$0 export --db prunelab.db --run 20250101-120000-3fa9 --format jsonl',
          'one run as JSON lines on stdout',
        )
        .example(
          '$0 export --out r.jsonl --format jsonl --json',
          'write the file, print {rows, out} as JSON',
        ) as unknown as Argv<ExportArgs>,
    handler: async (args: ArgumentsCamelCase<ExportArgs>) => {
      if (args.json && args.out === undefined) {
        throw new UsageError(
          '--json prints a summary of the export, so the rows need a file: expected --out FILE with --json (or drop --json to stream rows to stdout)',
          { option: '--out' },
        );
      }
      const store = await context.openStore(args.db, { mustExist: true });
      try {
        const request = {
          format: args.format,
          dbPath: store.path,
          ...(args.run === undefined ? {} : { runId: args.run }),
        };
        if (args.out === undefined) {
          try {
            await exportMeasurements(store.db, request, context.output.stdout);
          } catch (error) {
            // The reader went away (`| head`): like any Unix filter, stop quietly.
            if ((error as NodeJS.ErrnoException).code !== 'EPIPE') throw error;
          }
          return;
        }
        const file = createWriteStream(args.out);
        let rows: number;
        try {
          rows = await exportMeasurements(store.db, request, file);
        } finally {
          file.end();
          await finished(file);
        }
        if (args.json)
          printJson(context.output, { rows, out: args.out, format: args.format, run: args.run ?? null });
        else context.output.err(`wrote ${rows} measurements to ${args.out}\n`);
      } finally {
        await store.close();
      }
    },
  };
}
