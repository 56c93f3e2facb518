/**
 * Measured per-layer accuracy drops (a `prunelab.sensitivity/v1` file, parsed by the orchestrator) joined to
 * the layers' priced options. Pure: the parsed table in, candidates whose options carry `drop` out.
 *
 * An option the sensitivity run did not measure is REFUSED (moved to `refused` with the reason), never given a
 * guessed drop: an interpolated or proxied drop would silently mix two accuracy scales in one sum. Dense is
 * always kept, with drop 0 (nothing removed). A layer the file does not list keeps only dense.
 */
import type { LayerCandidates, LayerOption } from './types.ts';

/** One measured candidate: this layer alone pruned this way. */
export interface MeasuredDrop {
  readonly scheme: string;
  readonly block: string | null;
  readonly sparsity: number;
  /** Dense metric - metric with this layer pruned (a fraction; negative when pruning measured better). */
  readonly drop: number;
}

export interface SensitivityTable {
  /** What the drops are drops of: top-1 accuracy (labelled data) or top-1 agreement with the dense model. */
  readonly metric: 'top1' | 'agreement';
  /** Measured candidates by layer name (the ONNX node name, as mapping.json writes it). */
  readonly layers: ReadonlyMap<string, readonly MeasuredDrop[]>;
}

/** Sparsities are written by two programs: equal to 1e-9 is equal. */
const SPARSITY_TOLERANCE = 1e-9;

function findDrop(measured: readonly MeasuredDrop[], option: LayerOption): number | undefined {
  return measured.find(
    (m) =>
      m.scheme === option.scheme &&
      m.block === option.block &&
      Math.abs(m.sparsity - option.sparsity) < SPARSITY_TOLERANCE,
  )?.drop;
}

function label(option: LayerOption): string {
  return `${option.scheme}${option.block === null ? '' : ` ${option.block}`} @${option.sparsity}`;
}

/** One layer's options with their measured drops; unmeasured pruned options refused. */
export function layerWithDrops(layer: LayerCandidates, table: SensitivityTable): LayerCandidates {
  const measured = table.layers.get(layer.name);
  const options: LayerOption[] = [];
  const refused = [...layer.refused];
  for (const option of layer.options) {
    if (option.scheme === 'dense') {
      options.push({ ...option, drop: 0 });
      continue;
    }
    const drop = measured === undefined ? undefined : findDrop(measured, option);
    if (drop !== undefined) {
      options.push({ ...option, drop });
      continue;
    }
    refused.push({
      option: label(option),
      reason:
        measured === undefined
          ? `layer ${layer.name} is not in the sensitivity file: no measured drop (refused, not guessed)`
          : `no measured drop for ${label(option)} in the sensitivity file (refused, not guessed); ` +
            'run `prunelab sensitivity` with this LUT to measure it',
    });
  }
  return { ...layer, options, refused };
}

export function withMeasuredDrops(
  layers: readonly LayerCandidates[],
  table: SensitivityTable,
): LayerCandidates[] {
  return layers.map((layer) => layerWithDrops(layer, table));
}
