/**
 * `prunelab fit --suggest N`: the planned cases of a sweep config are the candidates, cost-model/suggest.ts
 * ranks them, and the N chosen become a sweep config the user can run next. Pure.
 *
 * The config format lists models, schemes, blocks, sparsities and threads and sweeps their cross product;
 * it has no list of single cases. So the written config is the smallest cross product that holds the N
 * cases (the models that contain their shapes, the union of their parameters), and its header lists the N
 * cases themselves and why each was chosen.
 */
import { stringify } from 'yaml';
import type { SweepSpec } from '../../config/types.ts';
import type { SuggestCandidate, SuggestedCase } from '../../cost-model/index.ts';
import type { Plan } from '../plan/types.ts';

/** Every planned case as a candidate: dense at density 1, the others at 1 - sparsity. */
export function candidatesFromPlan(plan: Plan): SuggestCandidate[] {
  return plan.cases.map((planned) => ({
    shape: planned.shape,
    scheme: planned.scheme,
    block: planned.block,
    density: planned.scheme === 'dense' ? 1 : 1 - planned.sparsity,
    threads: planned.threads,
    layers: planned.layers,
  }));
}

export interface SuggestedSweep {
  readonly sweep: Pick<SweepSpec, 'models' | 'schemes' | 'sparsities' | 'threads'> & {
    readonly blocks: readonly string[];
  };
  /** The config file's text: a header listing the cases, then `sweep:`. */
  readonly yaml: string;
}

/** One short line: the failure code when the LUT cannot answer, else the interval and how it was made. */
function why(s: SuggestedCase): string {
  const [code, ...rest] = s.reason.split(': ');
  if (s.relativeWidth === null) return `cannot answer (${code})`;
  return `interval ±${((s.relativeWidth / 2) * 100).toFixed(0)}%, ${code}: ${rest.join(': ')}`;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/**
 * `base` fills the lists the suggestions leave empty (blocks when no block scheme was chosen, sparsities
 * when only dense was), so the config stays valid.
 */
export function suggestedSweep(
  suggestions: readonly SuggestedCase[],
  base: Pick<SweepSpec, 'sparsities'> & { readonly blocks: readonly string[] },
  title: string,
): SuggestedSweep {
  const models = unique(
    suggestions.flatMap((s) => s.layers.map((layer) => layer.split('/')[0] ?? layer)),
  ).sort();
  const schemes = unique(suggestions.map((s) => s.scheme));
  const blocks = unique(suggestions.flatMap((s) => (s.block === null ? [] : [s.block])));
  const sparsities = unique(suggestions.filter((s) => s.scheme !== 'dense').map((s) => s.sparsity)).sort(
    (a, b) => a - b,
  );
  const threads = unique(suggestions.map((s) => s.threads)).sort((a, b) => a - b);
  const sweep = {
    models,
    schemes,
    blocks: blocks.length > 0 ? blocks : [...base.blocks],
    sparsities: sparsities.length > 0 ? sparsities : [...base.sparsities],
    threads,
  };
  const header = [
    title,
    `The ${suggestions.length} cases the LUT is least sure about, most uncertain first:`,
    ...suggestions.map(
      (s, i) =>
        `${String(i + 1).padStart(3)}. ${s.shapeKey} | ${s.scheme}${s.block === null ? '' : ` ${s.block}`} | ` +
        `sparsity ${s.sparsity} | t${s.threads}  (${s.layers.slice(0, 2).join(', ')}${s.layers.length > 2 ? ', ...' : ''})` +
        `\n       ${why(s)}`,
    ),
    'A config sweeps the cross product of its lists (it has no per-case list), so this one also measures',
    'other combinations of these models, schemes, blocks, sparsities and threads.',
  ];
  const yaml = `${header
    .flatMap((line) => line.split('\n'))
    .map((line) => `# ${line}`.trimEnd())
    .join('\n')}\n${stringify({ sweep })}`;
  return { sweep, yaml };
}
