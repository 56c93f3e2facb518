/**
 * The fit use case: read the store's layer measurements -> fit one LUT per device (fit-devices.ts, pure) ->
 * write `lut-<device>.json`; with a suggestion count, also the sweep config of the planned cases each LUT
 * is least sure about (`sweep-suggest-<device>.yaml`). The CLI checks the flags and prints the outcome.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import type { PrunelabConfig } from '../../config/schema.ts';
import { formatBlockSize } from '../../config/vocabulary.ts';
import type { Lut } from '../../cost-model/index.ts';
import { parseLutText, type SuggestedCase, serializeLut, suggest } from '../../cost-model/index.ts';
import { UsageError } from '../errors.ts';
import type { OpenedStore } from '../store/open.ts';
import { planFromConfig } from '../sweep/plan-tasks.ts';
import { type FittedDevice, fitDevices } from './fit-devices.ts';
import { readFitRows } from './read-rows.ts';
import { candidatesFromPlan, suggestedSweep } from './suggest-sweep.ts';
import type { WeightsChoice } from './weights.ts';

export interface FitRequest {
  readonly dbPath: string;
  /** --device ids (undefined: every device in the store). */
  readonly deviceIds?: readonly string[];
  /** --agent: fit this build (default: each device's most recently measured build). */
  readonly agentHash?: string;
  /** --weights: which measurements a LUT is fitted from (fit/weights.ts; default auto). */
  readonly weights?: WeightsChoice;
  readonly outDir: string;
  /** With a sweep config whose planned cases are the candidates: how many to suggest per device. */
  readonly suggest?: { readonly count: number; readonly config: PrunelabConfig };
}

export interface WrittenLut {
  readonly fitted: FittedDevice;
  readonly path: string;
  readonly lut: Lut;
}

export interface Suggestion {
  readonly device: string;
  readonly path: string;
  /** Cases the suggested config plans (a cross product, so at least the suggested ones). */
  readonly planned: number;
  readonly cases: readonly SuggestedCase[];
}

export interface FitOutcome {
  readonly written: readonly WrittenLut[];
  readonly suggestions: readonly Suggestion[];
}

async function fitStore(
  openStore: (path: string, options: { mustExist: true }) => Promise<OpenedStore>,
  request: FitRequest,
): Promise<FittedDevice[]> {
  const store = await openStore(request.dbPath, { mustExist: true });
  // The store as the user names it: the absolute file, or the PostgreSQL URL without its password.
  const storeShown = store.path;
  let rows: Awaited<ReturnType<typeof readFitRows>>;
  try {
    rows = await readFitRows(store.db, request.deviceIds);
  } finally {
    await store.close();
  }
  if (rows.length === 0) {
    const which = request.deviceIds === undefined ? '' : ` of device ${request.deviceIds.join(', ')}`;
    throw new UsageError(
      `no layer measurements${which} in ${storeShown}: expected a database filled by ` +
        '`prunelab sweep --db FILE` (check --db and --device; `prunelab export` lists what is stored)',
      { option: request.deviceIds === undefined ? '--db' : '--device' },
    );
  }
  const fitted = fitDevices(rows, {
    createdAt: new Date().toISOString(),
    ...(request.agentHash === undefined ? {} : { agentHash: request.agentHash }),
    ...(request.weights === undefined ? {} : { weights: request.weights }),
  });
  if (fitted.length === 0) {
    throw new UsageError(`no measurement of agent build ${request.agentHash ?? ''} in ${storeShown}`, {
      option: '--agent',
    });
  }
  return fitted;
}

async function writeLuts(fitted: readonly FittedDevice[], outDir: string): Promise<WrittenLut[]> {
  await mkdir(outDir, { recursive: true });
  const written: WrittenLut[] = [];
  for (const device of fitted) {
    const path = join(outDir, device.fileName);
    const text = serializeLut(device.lut);
    // Check what is written with the loader every reader uses: a LUT this build cannot read is a bug here.
    const lut = parseLutText(text, path);
    await writeFile(path, text);
    written.push({ fitted: device, path, lut });
  }
  return written;
}

async function writeSuggestions(
  written: readonly WrittenLut[],
  outDir: string,
  { count, config }: NonNullable<FitRequest['suggest']>,
): Promise<Suggestion[]> {
  const suggestions: Suggestion[] = [];
  const candidates = candidatesFromPlan(planFromConfig(config));
  for (const { fitted: device, lut } of written) {
    const cases = suggest(lut, candidates, count);
    if (cases.length === 0) continue;
    const next = suggestedSweep(
      cases,
      { sparsities: config.sweep.sparsities, blocks: config.sweep.blocks.map(formatBlockSize) },
      `prunelab fit --suggest ${count}: next sweep for ${device.deviceId} (LUT ${device.fileName})`,
    );
    // Plan the written file with the real loader: it must be a valid config, and its size is news.
    const planned = planFromConfig(loadConfig(next.yaml, 'suggested sweep')).cases.length;
    const path = join(outDir, device.fileName.replace(/^lut-/, 'sweep-suggest-').replace(/\.json$/, '.yaml'));
    await writeFile(path, next.yaml);
    suggestions.push({ device: device.deviceId, path, planned, cases });
  }
  return suggestions;
}

export async function runFit(
  openStore: (path: string, options: { mustExist: true }) => Promise<OpenedStore>,
  request: FitRequest,
): Promise<FitOutcome> {
  const written = await writeLuts(await fitStore(openStore, request), request.outDir);
  const suggestions =
    request.suggest === undefined ? [] : await writeSuggestions(written, request.outDir, request.suggest);
  return { written, suggestions };
}
