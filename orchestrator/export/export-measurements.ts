/** The export use case: stream stored measurements into a writable (a file or stdout) as CSV or JSONL. */
import { once } from 'node:events';
import { RunNotFoundError } from '../store/errors.ts';
import { streamMeasurements } from '../store/export-query.ts';
import type { StoreDb } from '../store/open.ts';
import { findRun, listRunIds } from '../store/runs.ts';
import { csvHeader, csvLine, type ExportFormat, jsonLine, toExportRecord } from './rows.ts';

export interface ExportRequest {
  readonly format: ExportFormat;
  /** Only this run; all runs when undefined. */
  readonly runId?: string;
  readonly dbPath: string;
}

async function write(out: NodeJS.WritableStream, text: string): Promise<void> {
  // Respect backpressure: a big export into a slow pipe must not buffer everything in memory.
  if (!out.write(text)) await once(out, 'drain');
}

/** Returns the number of measurement rows written. */
export async function exportMeasurements(
  db: StoreDb,
  request: ExportRequest,
  out: NodeJS.WritableStream,
): Promise<number> {
  if (request.runId !== undefined && (await findRun(db, request.runId)) === undefined) {
    const recent = await listRunIds(db, 5);
    throw new RunNotFoundError(
      `--run: no run '${request.runId}' in ${request.dbPath}; expected one of ${recent.join(', ') || '(no runs yet)'}${recent.length === 5 ? ', ...' : ''}`,
      { path: request.dbPath, runId: request.runId },
      { kind: 'input' },
    );
  }
  if (request.format === 'csv') await write(out, csvHeader());
  let rows = 0;
  for await (const row of streamMeasurements(db, request.runId)) {
    const record = toExportRecord(row);
    await write(out, request.format === 'csv' ? csvLine(record) : jsonLine(record));
    rows += 1;
  }
  return rows;
}
