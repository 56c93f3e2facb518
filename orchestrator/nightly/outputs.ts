/**
 * The night's LUTs and HTML report, with the code `prunelab fit` and `prunelab report` use. Only devices
 * fit for LUT production get a LUT, fitted from their measurements with tonight's agent build. Neither
 * output can fail the night: the measurements are stored, so a failure is a note and the commands can
 * try again.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseLutText, serializeLut } from '../../cost-model/index.ts';
import type { ReportAssets } from '../../reports/types.ts';
import { messageOf } from '../errors.ts';
import { fitDevices } from '../fit/fit-devices.ts';
import { readFitRows } from '../fit/read-rows.ts';
import { defaultReportPath, generateReport } from '../report/generate-report.ts';
import type { StoreDb } from '../store/open.ts';

export interface OutputsRequest {
  readonly db: StoreDb;
  readonly dbPath: string;
  readonly outDir: string;
  readonly sweepRunId: string;
  /** Device id -> the agent build whose measurements make its LUT. */
  readonly fitDevices: ReadonlyMap<string, string>;
  readonly assets: () => ReportAssets;
  readonly now: Date;
}

export interface NightOutputs {
  readonly luts: readonly string[];
  readonly report: string | undefined;
  readonly notes: readonly string[];
}

export async function writeNightOutputs(request: OutputsRequest): Promise<NightOutputs> {
  const notes: string[] = [];
  const luts: string[] = [];
  await mkdir(request.outDir, { recursive: true });
  for (const [deviceId, agentHash] of request.fitDevices) {
    try {
      const rows = await readFitRows(request.db, [deviceId]);
      const fitted = fitDevices(rows, { createdAt: request.now.toISOString(), agentHash });
      for (const device of fitted) {
        const path = join(request.outDir, device.fileName);
        const text = serializeLut(device.lut);
        parseLutText(text, path);
        await writeFile(path, text);
        luts.push(path);
      }
    } catch (error) {
      notes.push(`no LUT for ${deviceId}: ${messageOf(error)}`);
    }
  }
  let report: string | undefined;
  try {
    const summary = await generateReport(
      { db: request.db, dbPath: request.dbPath, assets: request.assets },
      {
        runId: request.sweepRunId,
        lutPaths: luts,
        mappingPaths: [],
        outPath: join(request.outDir, defaultReportPath(request.sweepRunId)),
      },
    );
    report = summary.outPath;
  } catch (error) {
    notes.push(
      `no HTML report: ${messageOf(error)}; try \`prunelab report --db ${request.dbPath} --run ${request.sweepRunId}\``,
    );
  }
  return { luts, report, notes };
}
