/**
 * Every migration, in order, provided from code (no directory scan: the bundle and the tests see the same
 * list). Names are frozen; a new schema change is a new entry.
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_nightly.ts';
import * as m0003 from './0003_probe.ts';
import * as m0004 from './0004_device_gaps.ts';
import * as m0005 from './0005_backend.ts';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_initial': m0001,
  '0002_nightly': m0002,
  '0003_probe': m0003,
  '0004_device_gaps': m0004,
  '0005_backend': m0005,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...MIGRATIONS }),
};
