/**
 * The words every part of prunelab shares: operations, pruning schemes and block sizes.
 * Pure data and pure parsers; nothing here does I/O.
 */

export const OPS = ['conv', 'dwconv', 'fc', 'idle'] as const;
export type Op = (typeof OPS)[number];

/** Pruning schemes, from least to most regular (README.md, "Pruning schemes"). */
export const SCHEMES = [
  'unstructured',
  'pattern',
  'bcr',
  'block-punched',
  'channel',
  'filter',
  'dense',
] as const;
export type Scheme = (typeof SCHEMES)[number];

/** Schemes whose kernels are cut into `BRxBC` blocks; the others ignore the block size. */
export const BLOCK_SCHEMES: readonly Scheme[] = ['bcr', 'block-punched'];

export function isScheme(value: string): value is Scheme {
  return (SCHEMES as readonly string[]).includes(value);
}

export function isOp(value: string): value is Op {
  return (OPS as readonly string[]).includes(value);
}

/** A block of `rows` GEMM rows (filters) by `cols` GEMM columns, written `BRxBC`, e.g. `8x4`. */
export interface BlockSize {
  readonly rows: number;
  readonly cols: number;
}

const BLOCK_PATTERN = /^([1-9][0-9]*)x([1-9][0-9]*)$/;

/** Parses `BRxBC`; returns undefined for anything else so callers can say where the bad value came from. */
export function parseBlockSize(text: string): BlockSize | undefined {
  const match = BLOCK_PATTERN.exec(text.trim());
  if (!match) return undefined;
  return { rows: Number(match[1]), cols: Number(match[2]) };
}

export function formatBlockSize(block: BlockSize): string {
  return `${block.rows}x${block.cols}`;
}
