/**
 * The report use case: read (store, LUT files, mapping files) -> compute (aggregate, pure) -> render (pure)
 * -> write one HTML file. `prunelab report` and the end of `prunelab sweep` both call it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { getModel } from '../../config/models/index.ts';
import type { PrunelabConfig } from '../../config/schema.ts';
import { parseLutText } from '../../cost-model/index.ts';
import { renderReport } from '../../reports/render.ts';
import type { ReportAssets, ReportDroppedGroup, ReportInput } from '../../reports/types.ts';
import { messageOf } from '../errors.ts';
import { defaultWeightsDir, loadSweepModels, type SweepOnnxModel } from '../models/sweep-models.ts';
import { RunNotFoundError } from '../store/errors.ts';
import type { StoreDb } from '../store/open.ts';
import { findRun, latestRun, listRunIds } from '../store/runs.ts';
import { planFromConfig } from '../sweep/plan-tasks.ts';
import { ReportInputError, ReportWriteError } from './errors.ts';
import { lutQuality } from './lut-quality.ts';
import { mappingFromJson } from './read-mapping.ts';
import { readNightlyForReport } from './read-nightly.ts';
import { readRunForReport } from './read-store.ts';

export interface ReportDeps {
  readonly db: StoreDb;
  readonly dbPath: string;
  readonly assets: () => ReportAssets;
  readonly now?: () => Date;
}

export interface ReportRequest {
  /** Default: the latest run in the store. */
  readonly runId?: string;
  readonly lutPaths: readonly string[];
  readonly mappingPaths: readonly string[];
  /** Default: `prunelab-report-<run>.html` in the current folder (ignored by git, like the database). */
  readonly outPath?: string;
}

export function defaultReportPath(runId: string): string {
  return `prunelab-report-${runId}.html`;
}

export interface ReportSummary {
  readonly runId: string;
  readonly outPath: string;
  readonly sizeBytes: number;
  readonly cases: number;
  readonly luts: number;
  readonly mappings: number;
  /** Time to aggregate and render the page (not the store reads). */
  readonly renderMs: number;
}

async function readText(path: string, option: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ReportInputError(
      `${option} ${path}: cannot read it (${messageOf(error)}); expected a file written by prunelab${option === '--lut' ? ' fit' : ' map'}.`,
      { path, option },
      { kind: 'input', cause: error },
    );
  }
}

/** The planner's dropped cases of the run's configuration, by reason (cases that cannot exist). */
export function droppedGroups(
  config: unknown,
  onnx: ReadonlyMap<string, SweepOnnxModel> = new Map(),
): ReportDroppedGroup[] {
  let plan: ReturnType<typeof planFromConfig>;
  try {
    plan = planFromConfig(config as PrunelabConfig, onnx);
  } catch {
    // An old or foreign configuration that no longer plans: the report shows what was measured regardless.
    return [];
  }
  const groups = new Map<string, ReportDroppedGroup>();
  for (const dropped of plan.dropped) {
    const known = groups.get(dropped.reason);
    groups.set(dropped.reason, {
      reason: dropped.reason,
      count: (known?.count ?? 0) + 1,
      example:
        known?.example ??
        `${dropped.layer}: ${dropped.scheme}${dropped.block === undefined ? '' : ` ${dropped.block}`} at sparsity ${dropped.sparsity}`,
    });
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

/** Layer order of every model the run swept, so charts keep the network's order. */
export function modelLayersOf(
  config: unknown,
  onnx: ReadonlyMap<string, SweepOnnxModel> = new Map(),
): Record<string, string[]> {
  const models = (config as Partial<PrunelabConfig> | null)?.sweep?.models ?? [];
  const out: Record<string, string[]> = {};
  for (const name of models) {
    const table = getModel(name);
    if (table !== undefined) out[name] = table.layers.map((layer) => layer.name);
    const model = onnx.get(name);
    if (model !== undefined) out[model.label] = model.layers.map((layer) => layer.node);
  }
  return out;
}

/**
 * The run's ONNX models read again, for their planner drops and layer order; empty when a file is gone or
 * changed since (the report then shows what was measured, without them).
 */
async function onnxOfRun(config: unknown): Promise<ReadonlyMap<string, SweepOnnxModel>> {
  const models = (config as Partial<PrunelabConfig> | null)?.sweep?.models ?? [];
  try {
    return await loadSweepModels(models, defaultWeightsDir());
  } catch {
    return new Map();
  }
}

async function resolveRun(deps: ReportDeps, runId: string | undefined) {
  const run = runId === undefined ? await latestRun(deps.db) : await findRun(deps.db, runId);
  if (run !== undefined) return run;
  const recent = await listRunIds(deps.db, 5);
  throw new RunNotFoundError(
    runId === undefined
      ? `nothing to report: ${deps.dbPath} has no runs. Run \`prunelab sweep --db ${deps.dbPath}\` first.`
      : `--run: no run '${runId}' in ${deps.dbPath}; expected one of ${recent.join(', ') || '(no runs yet)'}, or no --run for the latest.`,
    runId === undefined ? { path: deps.dbPath } : { path: deps.dbPath, runId },
    { kind: 'input' },
  );
}

export async function generateReport(deps: ReportDeps, request: ReportRequest): Promise<ReportSummary> {
  const now = deps.now ?? (() => new Date());
  const run = await resolveRun(deps, request.runId);
  const stored = await readRunForReport(deps.db, run);
  const nightly = await readNightlyForReport(deps.db);

  const luts = [];
  for (const path of request.lutPaths) {
    const text = await readText(path, '--lut');
    const lut = parseLutText(text, path);
    luts.push(lutQuality(lut, path));
  }
  const mappings = [];
  for (const path of request.mappingPaths) {
    const text = await readText(path, '--mapping');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ReportInputError(
        `--mapping ${path}: not JSON (${messageOf(error)}); expected a mapping.json written by \`prunelab map --out FILE\`.`,
        { path, option: '--mapping' },
        { kind: 'input', cause: error },
      );
    }
    mappings.push(mappingFromJson(json, path));
  }

  const onnx = await onnxOfRun(stored.run.config);
  const startedMs = performance.now();
  const input: ReportInput = {
    generatedAt: now().toISOString(),
    run: stored.run,
    devices: stored.devices,
    agentBuilds: stored.agentBuilds,
    cases: stored.cases,
    failures: stored.failures,
    failuresTotal: stored.failureRowsTotal,
    dropped: droppedGroups(stored.run.config, onnx),
    telemetry: stored.telemetry,
    batches: stored.batches,
    luts,
    mappings,
    modelNodes: stored.modelNodes,
    modelLayers: modelLayersOf(stored.run.config, onnx),
    nightly,
  };
  const html = renderReport(input, deps.assets());
  const renderMs = performance.now() - startedMs;
  const outPath = resolve(request.outPath ?? defaultReportPath(run.id));
  try {
    await writeFile(outPath, html, 'utf8');
  } catch (error) {
    throw new ReportWriteError(
      `could not write the report to ${outPath}: ${messageOf(error)}. Pass another --out path.`,
      { path: outPath },
      { kind: 'input', cause: error },
    );
  }
  return {
    runId: run.id,
    outPath,
    sizeBytes: Buffer.byteLength(html, 'utf8'),
    cases: stored.cases.length,
    luts: luts.length,
    mappings: mappings.length,
    renderMs,
  };
}
