import type { ReportAssets } from '../../reports/types.ts';
import type { SweepDeps } from '../sweep/run-sweep.ts';

/** What the night needs: what the sweep needs, plus the build cache, the output folder and the report's assets. */
export interface NightlyDeps
  extends Pick<
    SweepDeps,
    | 'db'
    | 'dbPath'
    | 'devices'
    | 'buildAgent'
    | 'gitRevision'
    | 'hostName'
    | 'emit'
    | 'stop'
    | 'hardStop'
    | 'now'
  > {
  /** Folder of kept agent builds (by hash). */
  readonly buildCacheDir: string;
  /** Where the night's LUTs and report go (a folder per night is made inside). */
  readonly outDir: string;
  readonly assets: () => ReportAssets;
}
