/** Embedded defaults. TODO(body): final figures. */
import type { PrunelabConfig } from './schema.ts';
import type { MeasurementPolicy } from './types.ts';

/** DESIGN.md anchors: warm-up 2, at least 10 reps and 100 ms, capped. */
export const DEFAULT_MEASUREMENT: MeasurementPolicy = {
  warmup: 2,
  minReps: 10,
  minTimeMs: 100,
  maxReps: 1000,
  maxTimeMs: 1000,
};

/** The whole config used with no file and no flags (embedded default sweep on the host). */
export const DEFAULT_CONFIG: PrunelabConfig = {} as PrunelabConfig;
