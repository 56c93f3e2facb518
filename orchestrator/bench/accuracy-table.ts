/**
 * `npm run bench:accuracy`, second half: the paper's table, measured, on the digits fixture.
 *
 *  1. a LUT of the fixture's own layer shapes, measured on this host by the agent (fixtures/host-lut.ts: one
 *     agent call, short sampling; `prunelab sweep` takes built-in models only);
 *  2. the held-out split cut in two: `prunelab sensitivity` measures the per-layer drops on the first half
 *     (the options of that LUT), `prunelab map --evaluate-with` measures the table on the second, so the
 *     drops that chose the mapping are not the ones that judge it;
 *  3. per accuracy budget (`--max-accuracy-drop` of the summed single-layer drops): `prunelab map --sensitivity
 *     --evaluate-with --verify-on host`: the mapping against every uniform baseline at the mapping's measured
 *     drop, predicted and measured latency, and the margin over the best baseline.
 * Target (issue #24): the mapping faster than every uniform baseline at equal measured drop.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEvalData } from '../evaluate/data.ts';
import type { DigitsFixture } from '../fixtures/digits.ts';
import { writeHostLut } from '../fixtures/host-lut.ts';
import { float32Npy, int64Npy } from '../fixtures/label-free.ts';
import type { MeasuredTable } from '../map/measured-table.ts';
import { encodeNpz } from '../numpy/npz.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export const TABLE_SCHEMES = ['unstructured', 'bcr', 'block-punched', 'pattern'] as const;
export const TABLE_BLOCKS = ['4x1', '2x2'];
export const TABLE_SPARSITIES = [0.1, 0.25, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9];
export const DROP_BUDGETS = [0.01, 0.03, 0.1];

export interface TableBenchRow {
  readonly maxDrop: number;
  readonly summedDrop: number | null;
  readonly table: MeasuredTable;
  /** Baselines that reach the mapping's measured drop at some priced sparsity (the target is about these). */
  readonly compared: number;
  /** Reached baselines the mapping is not faster than (predicted / measured). */
  readonly notBeatenPredicted: readonly string[];
  readonly notBeatenMeasured: readonly string[];
}

function cli(args: readonly string[]): string {
  console.error(`# prunelab ${args.join(' ')}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'orchestrator/cli/main.ts', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(`prunelab ${args[0]} failed (exit ${result.status ?? result.signal})`);
  return result.stdout;
}

/** The held-out split in two halves: [first, second) by sample index. */
async function halves(fixture: DigitsFixture, outDir: string): Promise<[string, string]> {
  const data = await readEvalData(fixture.testDataPath);
  const size = data.sampleDims.reduce((p, d) => p * d, 1);
  const cut = Math.floor(data.count / 2);
  const labels = [...(data.labels ?? [])];
  const write = (name: string, from: number, to: number): string => {
    const path = join(outDir, name);
    const arrays = new Map([
      ['inputs', float32Npy(data.inputs.slice(from * size, to * size), [to - from, ...data.sampleDims])],
      ['labels', int64Npy(labels.slice(from, to))],
    ]);
    writeFileSync(path, encodeNpz(arrays));
    return path;
  };
  return [write('digits-calibration.npz', 0, cut), write('digits-evaluation.npz', cut, data.count)];
}

function notBeaten(
  table: MeasuredTable,
  key: 'mappingPredictedSpeedup' | 'mappingMeasuredSpeedup',
): string[] {
  return table.rows
    .filter((r) => r.kind === 'baseline' && r.reached && (r[key] === null || (r[key] as number) <= 1))
    .map((r) => r.name);
}

/** Section 3: the measured table at each drop budget. */
export async function measuredTableBench(fixture: DigitsFixture, outDir: string): Promise<TableBenchRow[]> {
  const lutPath = join(outDir, 'lut-digits-host.json');
  await writeHostLut({
    modelPath: fixture.modelPath,
    outPath: lutPath,
    schemes: [...TABLE_SCHEMES],
    blocks: TABLE_BLOCKS,
    sparsities: TABLE_SPARSITIES,
  });
  const [calibration, evaluation] = await halves(fixture, outDir);
  const sensitivity = join(outDir, 'sensitivity-table.json');
  cli([
    'sensitivity',
    '--model',
    fixture.modelPath,
    '--data',
    calibration,
    '--lut',
    lutPath,
    '--out',
    sensitivity,
  ]);
  const rows: TableBenchRow[] = [];
  for (const maxDrop of DROP_BUDGETS) {
    const out = join(outDir, `mapping-drop-${maxDrop}.json`);
    cli([
      'map',
      '--lut',
      lutPath,
      '--model',
      fixture.modelPath,
      '--sensitivity',
      sensitivity,
      '--max-accuracy-drop',
      String(maxDrop),
      '--evaluate-with',
      evaluation,
      '--verify-on',
      'host',
      '--out',
      out,
    ]);
    const mapping = JSON.parse(readFileSync(out, 'utf8')) as {
      totals: { drop: number | null };
      measuredTable: MeasuredTable;
    };
    rows.push({
      maxDrop,
      summedDrop: mapping.totals.drop,
      table: mapping.measuredTable,
      compared: mapping.measuredTable.rows.filter((r) => r.kind === 'baseline' && r.reached).length,
      notBeatenPredicted: notBeaten(mapping.measuredTable, 'mappingPredictedSpeedup'),
      notBeatenMeasured: notBeaten(mapping.measuredTable, 'mappingMeasuredSpeedup'),
    });
  }
  return rows;
}

const x = (v: number | null | undefined): string =>
  v === null || v === undefined ? '-' : `${v.toFixed(2)}x`;
const us = (ns: number | null): string => (ns === null ? '-' : `${(ns / 1e3).toFixed(2)} us`);

export function printTableBench(rows: readonly TableBenchRow[]): void {
  console.log(
    '\nmeasured table (digits; drops measured on the first half of the test split, the table on the second):',
  );
  for (const row of rows) {
    const t = row.table;
    const mapping = t.rows.find((r) => r.kind === 'mapping');
    const dense = t.rows.find((r) => r.kind === 'dense');
    console.log(
      `\n--max-accuracy-drop ${row.maxDrop}: summed single-layer drops ${row.summedDrop?.toFixed(4)}, measured drop ` +
        `${(t.targetDrop * 100).toFixed(2)} points (dense ${(t.denseValue * 100).toFixed(2)}%); mapping ` +
        `${us(mapping?.predictedNs ?? null)} predicted, ${us(mapping?.measuredNs ?? null)} measured (dense ` +
        `${us(dense?.predictedNs ?? null)} / ${us(dense?.measuredNs ?? null)})`,
    );
    console.log(
      '  baseline                  sparsity  drop (pts)  predicted    measured     mapping faster by (pred / meas)',
    );
    for (const r of t.rows.filter((b) => b.kind === 'baseline')) {
      console.log(
        `  ${r.name.padEnd(24)}  ${(r.uniformSparsity ?? 0).toFixed(2).padStart(8)}  ${((r.drop ?? 0) * 100).toFixed(2).padStart(10)}  ` +
          `${us(r.predictedNs).padStart(10)}  ${us(r.measuredNs).padStart(10)}   ` +
          (r.reached
            ? `${x(r.mappingPredictedSpeedup)} / ${x(r.mappingMeasuredSpeedup)}`
            : 'not compared (loses more at every priced sparsity)'),
      );
    }
    const best = t.bestBaseline;
    console.log(
      best === null
        ? '  no uniform baseline reaches the measured drop'
        : `  best uniform baseline ${best.name}: margin ${x(best.predictedSpeedup)} predicted, ${x(best.measuredSpeedup)} measured`,
    );
    const verdict = (missed: readonly string[]) =>
      missed.length === 0 ? 'met' : `NOT met (${missed.join(', ')})`;
    console.log(
      row.compared === 0
        ? '  target (faster than every baseline at equal measured drop): nothing to compare, no baseline reaches the drop'
        : `  target (faster than every baseline at equal measured drop, ${row.compared} compared): predicted ` +
            `${verdict(row.notBeatenPredicted)}, measured ${verdict(row.notBeatenMeasured)}`,
    );
  }
}
