/**
 * mapping.json (`prunelab.mapping/v1`, orchestrator/map/mapping-file.ts) -> what pruning needs: the model it
 * was made for and each layer's (scheme, block, sparsity). Pure: text in, a typed mapping or a
 * PruneInputError naming the bad field out.
 */
import { z } from 'zod';
import { SCHEMES } from '../../config/vocabulary.ts';
import { PruneInputError } from './errors.ts';

const layerSchema = z.object({
  name: z.string().min(1),
  shapeKey: z.string().optional(),
  scheme: z.enum(SCHEMES),
  block: z.string().nullable(),
  sparsity: z.number().min(0).lt(1),
  bcrRowShare: z.number().min(0).max(1).optional(),
});

const mappingSchema = z.object({
  schema: z.literal('prunelab.mapping/v1'),
  model: z.object({
    name: z.string(),
    source: z.string(),
    sha256: z.string().optional(),
  }),
  choiceHash: z.string().optional(),
  layers: z.array(layerSchema),
  unpriced: z.array(z.object({ name: z.string(), reason: z.string() })).optional(),
});

export type MappingForPruning = z.infer<typeof mappingSchema>;
export type MappingLayerChoice = z.infer<typeof layerSchema>;

export function parseMappingForPruning(text: string, file: string): MappingForPruning {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PruneInputError(
      `${file} is not JSON (${(error as Error).message}); expected a mapping.json written by \`prunelab map --out FILE\``,
      { file, option: '--mapping' },
      { cause: error },
    );
  }
  const parsed = mappingSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`)
      .join('\n');
    throw new PruneInputError(
      `${file} is not a prunelab.mapping/v1 file:\n${issues}\nPass a mapping.json written by \`prunelab map --out FILE\`.`,
      { file, option: '--mapping' },
    );
  }
  return parsed.data;
}
