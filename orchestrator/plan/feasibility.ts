/**
 * Which (shape, scheme, block, sparsity) cases can exist. These rules and their wording mirror the agent's
 * refusals in prune_validate() (device-agent/src/prune.c): the planner drops such cases up front, with the
 * reason the agent would give, instead of spending an agent call to learn it. Keep the two in step.
 */
import { gemmRows } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import { BLOCK_SCHEMES, type BlockSize, formatBlockSize, type Scheme } from '../../config/vocabulary.ts';

/** A pattern keeps 4 of the 9 taps of each 3x3 kernel, so its density can never exceed 4/9. */
export const PATTERN_MAX_DENSITY = 4 / 9;

/** The agent prints sparsities with C's %g (6 significant digits). */
function formatG(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** Why a block does not fit the layer, or undefined. */
function blockReason(shape: LayerShape, scheme: Scheme, block: BlockSize): string | undefined {
  const name = formatBlockSize(block);
  const rows = gemmRows(shape);
  if (rows % block.rows !== 0) return `block ${name} does not divide cout=${rows}`;
  // FC counts as k = 1. bcr cuts the GEMM columns (cin*k*k); block-punched cuts input channels (cin).
  const k = shape.op === 'fc' ? 1 : shape.k;
  if (scheme === 'bcr') {
    const columns = shape.cin * k * k;
    if (columns % block.cols === 0) return undefined;
    return k === 1
      ? `block ${name} does not divide cin=${shape.cin}`
      : `block ${name} does not divide cin*k*k=${columns}`;
  }
  return shape.cin % block.cols === 0 ? undefined : `block ${name} does not divide cin=${shape.cin}`;
}

/**
 * Returns why the case cannot exist, or undefined when it can. `block` is required by the block schemes
 * and ignored by the others.
 */
export function infeasibleReason(
  shape: LayerShape,
  scheme: Scheme,
  block: BlockSize | undefined,
  sparsity: number,
): string | undefined {
  if (!(sparsity >= 0 && sparsity < 1)) return `sparsity must be in [0, 1), got ${formatG(sparsity)}`;
  if (shape.op === 'dwconv' && scheme !== 'dense') {
    return `dwconv supports only the dense scheme, got ${scheme} (a depthwise kernel has k*k weights per channel: nothing to prune in blocks)`;
  }
  if (scheme === 'dense') {
    return sparsity === 0
      ? undefined
      : `scheme dense removes nothing: sparsity must be 0, got ${formatG(sparsity)}`;
  }
  if (scheme === 'pattern') {
    const k = shape.op === 'fc' ? 1 : shape.k;
    if (shape.op !== 'conv' || k !== 3) return `pattern needs a 3x3 conv, got ${shape.op} with k=${k}`;
    // Same tolerance as the agent, so 5/9 written as 0.5556 is accepted on both sides.
    if (1 - sparsity > PATTERN_MAX_DENSITY + 1e-9) {
      return `pattern keeps 4 of 9 taps (density <= 0.444), so sparsity must be >= 0.556, got ${formatG(sparsity)}; use unstructured below that`;
    }
  }
  if (BLOCK_SCHEMES.includes(scheme)) {
    if (block === undefined) return `${scheme} needs a block BRxBC with BR, BC >= 1, got none`;
    return blockReason(shape, scheme, block);
  }
  return undefined;
}
