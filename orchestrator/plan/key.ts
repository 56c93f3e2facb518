/**
 * Stable case keys: the identity of a case in the store (tasks are keyed by run, device and case key), so
 * the same parameters must give the same key on every machine and in every release.
 */
import { createHash } from 'node:crypto';
import type { PlannedCase } from './types.ts';

/** What a key is made of: the case without its key and its layer list (which models share a shape). */
export type CaseParameters = Omit<PlannedCase, 'key' | 'layers'>;

/** JSON with object keys sorted at every level, so field order never changes a key. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Length of a key in hex digits: 64 bits, collision-free in practice for millions of cases. */
export const CASE_KEY_HEX_DIGITS = 16;

/**
 * sha256 over the canonical JSON of shape, scheme, block, sparsity, threads, seed and policy, shortened; a
 * gpu case adds `backend`, a case with real weights their blob and node. A cpu case has no backend field, so every key made before the GPU backend existed
 * (stored runs, resumable sweeps) stays the same.
 */
export function caseKey(parameters: CaseParameters): string {
  const { shape, scheme, block, sparsity, threads, backend, seed, measurement, weights } = parameters;
  // Pick the fields explicitly: a field added to PlannedCase later must not silently change every key.
  const canonical = canonicalJson({
    v: 1,
    shape: {
      op: shape.op,
      cin: shape.cin,
      cout: shape.cout,
      h: shape.h,
      w: shape.w,
      k: shape.k,
      stride: shape.stride,
      pad: shape.pad,
    },
    scheme,
    block: block ?? null,
    sparsity,
    threads,
    ...(backend === 'gpu' ? { backend } : {}),
    // Real weights: the blob and the node identify them (the offset follows from both).
    ...(weights === undefined ? {} : { weights: { sha256: weights.sha256, node: weights.node } }),
    seed,
    measurement: {
      warmup: measurement.warmup,
      minReps: measurement.minReps,
      minTimeMs: measurement.minTimeMs,
      maxReps: measurement.maxReps,
      maxTimeMs: measurement.maxTimeMs,
    },
  });
  return createHash('sha256').update(canonical).digest('hex').slice(0, CASE_KEY_HEX_DIGITS);
}
