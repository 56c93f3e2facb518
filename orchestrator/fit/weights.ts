/**
 * Which weights a LUT is fitted from (pure). A seeded measurement and one timed with a model's own weights
 * have the same shape and scheme but not the same mask, so one LUT never holds both unless asked:
 *
 * - `auto` (the default): a device whose measurements are all seeded, or all real, is fitted from them; a
 *   device with both is refused (exit 2) with the counts and the flag that chooses;
 * - `seeded` / `real`: only those measurements; `mixed`: all of them (the LUT says `mixed`).
 */
import type { LutWeights } from '../../cost-model/index.ts';
import { UsageError } from '../errors.ts';

export const WEIGHTS_CHOICES = ['auto', 'seeded', 'real', 'mixed'] as const;
export type WeightsChoice = (typeof WEIGHTS_CHOICES)[number];

/** A measured row's weights: `seeded`, or a weights file's sha256 (rows from before weights files: seeded). */
export function weightsOfRow(row: { readonly measured_weights?: string | null }): string {
  return row.measured_weights ?? 'seeded';
}

export interface WeightsSelection<Row> {
  readonly rows: Row[];
  /** For the LUT: absent when every row is seeded. */
  readonly weights?: LutWeights;
}

/** The LUT's weights field for rows already selected. */
function lutWeightsOf(
  rows: readonly { readonly measured_weights?: string | null }[],
): LutWeights | undefined {
  const kinds = new Set(rows.map(weightsOfRow));
  const files = [...kinds].filter((kind) => kind !== 'seeded').sort();
  if (files.length === 0) return undefined;
  return { kind: kinds.has('seeded') ? 'mixed' : 'real', files };
}

/** One device's rows narrowed to the chosen weights; refuses `auto` when they are mixed. */
export function selectWeights<Row extends { readonly measured_weights?: string | null }>(
  deviceId: string,
  rows: readonly Row[],
  choice: WeightsChoice,
): WeightsSelection<Row> {
  const seeded = rows.filter((row) => weightsOfRow(row) === 'seeded');
  const real = rows.filter((row) => weightsOfRow(row) !== 'seeded');
  let chosen: Row[];
  if (choice === 'seeded') chosen = seeded;
  else if (choice === 'real') chosen = real;
  else if (choice === 'mixed' || seeded.length === 0 || real.length === 0) chosen = [...rows];
  else {
    throw new UsageError(
      `${deviceId} has ${seeded.length} measurements with the agent's seeded weights and ${real.length} with ` +
        "models' own weights (sweeps of ONNX files); one LUT holds one kind: expected --weights seeded, " +
        '--weights real, or --weights mixed to fit both into one LUT (it then says `mixed`).',
      { option: '--weights' },
    );
  }
  const weights = lutWeightsOf(chosen);
  return { rows: chosen, ...(weights === undefined ? {} : { weights }) };
}
