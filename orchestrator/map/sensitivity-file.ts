/**
 * `--sensitivity sensitivity.json` (`prunelab.sensitivity/v1`, written by `prunelab sensitivity`): read (I/O),
 * parse and check against the model being mapped (pure), and hand the mappers the measured drops as data.
 * Refused with exit 2, before anything is written: a file that is not v1, a file made for another ONNX file
 * (its model.sha256 differs), a layer name the model does not have, a layer listed twice.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { MeasuredDrop, SensitivityTable } from '../../cost-model/index.ts';
import { SENSITIVITY_SCHEMA, type SensitivityFile } from '../sensitivity/sensitivity-file.ts';
import { MapInputError } from './errors.ts';

const candidateSchema = z.object({
  scheme: z.string().min(1),
  block: z.string().nullable(),
  sparsity: z.number().min(0).lt(1),
  drop: z.number().finite(),
});

const sensitivitySchema = z.object({
  schema: z.literal(SENSITIVITY_SCHEMA),
  model: z.object({ path: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  data: z.object({
    path: z.string(),
    sha256: z.string(),
    samples: z.number().int().nonnegative(),
    labels: z.boolean(),
  }),
  metric: z.enum(['top1', 'agreement']),
  layers: z.array(z.object({ name: z.string().min(1), candidates: z.array(candidateSchema) })),
});

/** What mapping.json records of the sensitivity file the search used (its model and data as it names them). */
export interface SensitivityProvenance extends Pick<SensitivityFile, 'model' | 'data' | 'metric'> {
  readonly path: string;
  /** sha256 of the sensitivity file itself. */
  readonly sha256: string;
}

export interface SensitivityInput {
  readonly table: SensitivityTable;
  readonly provenance: SensitivityProvenance;
}

function fail(file: string, message: string, cause?: unknown): never {
  throw new MapInputError(
    `--sensitivity ${file}: ${message}`,
    { option: '--sensitivity', file },
    cause === undefined ? {} : { cause },
  );
}

function parseText(text: string, file: string): z.infer<typeof sensitivitySchema> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail(
      file,
      `not JSON (${(error as Error).message}); expected a file written by \`prunelab sensitivity\``,
      error,
    );
  }
  const parsed = sensitivitySchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`)
      .join('\n');
    return fail(
      file,
      `not a prunelab.sensitivity/v1 file:\n${issues}\nPass the file \`prunelab sensitivity --out\` wrote.`,
    );
  }
  return parsed.data;
}

/**
 * Pure: the file's text, checked against the model being mapped (its sha256 and layer names) -> the table the
 * mappers read and what mapping.json records.
 */
export function parseSensitivity(
  text: string,
  file: string,
  model: { readonly path: string; readonly sha256: string; readonly layerNames: readonly string[] },
): SensitivityInput {
  const parsed = parseText(text, file);
  if (parsed.model.sha256 !== model.sha256) {
    fail(
      file,
      `made for another model file (model.sha256 ${parsed.model.sha256.slice(0, 16)}... from ${parsed.model.path}; ` +
        `--model ${model.path} is ${model.sha256.slice(0, 16)}...). Measure this model: ` +
        `\`prunelab sensitivity --model ${model.path} --data DATA --out sensitivity.json\`.`,
    );
  }
  if (parsed.layers.length === 0) fail(file, 'lists no layer: nothing was measured');
  const known = new Set(model.layerNames);
  const layers = new Map<string, readonly MeasuredDrop[]>();
  for (const [index, layer] of parsed.layers.entries()) {
    if (!known.has(layer.name)) {
      fail(
        file,
        `layers[${index}].name '${layer.name}' is not a prunable layer of ${model.path} (its layers: ` +
          `${model.layerNames.slice(0, 8).join(', ')}${model.layerNames.length > 8 ? ', ...' : ''}); the file was ` +
          'made for another model or another version of the reader: measure this model again.',
      );
    }
    if (layers.has(layer.name)) fail(file, `layers[${index}].name '${layer.name}' is listed twice`);
    layers.set(layer.name, layer.candidates);
  }
  return {
    table: { metric: parsed.metric, layers },
    provenance: {
      path: file,
      sha256: createHash('sha256').update(text).digest('hex'),
      metric: parsed.metric,
      model: parsed.model,
      data: parsed.data,
    },
  };
}

export async function readSensitivity(
  file: string,
  model: {
    readonly path: string;
    readonly sha256: string | undefined;
    readonly layerNames: readonly string[];
  },
): Promise<SensitivityInput> {
  if (model.sha256 === undefined) {
    fail(
      file,
      `--model ${model.path} is a built-in layer table with seeded weights; measured drops belong to an ONNX ` +
        'file with trained weights: pass --model model.onnx',
    );
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return fail(file, `cannot read ${resolve(file)} (${(error as Error).message})`, error);
  }
  return parseSensitivity(text, file, { ...model, sha256: model.sha256 });
}
