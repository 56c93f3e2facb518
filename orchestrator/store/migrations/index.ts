/**
 * Every migration, in order, provided from code (no directory scan: the bundle and the tests see the same
 * list). Names are frozen; a new schema change is a new entry. Each step gets the column types of the
 * store's dialect (column-types.ts); steps that need none ignore them.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_nightly.ts';
import * as m0003 from './0003_probe.ts';
import * as m0004 from './0004_device_gaps.ts';
import * as m0005 from './0005_backend.ts';
import * as m0006 from './0006_leases_and_hosts.ts';
import * as m0007 from './0007_model_nodes.ts';
import * as m0009 from './0009_work_queue.ts';
import { COLUMN_TYPES, type ColumnTypes, type StoreDialect } from './column-types.ts';

interface MigrationStep {
  // biome-ignore lint/suspicious/noExplicitAny: migrations are frozen in time and must not depend on today's types.
  up(db: Kysely<any>, types: ColumnTypes): Promise<void>;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  down?(db: Kysely<any>, types: ColumnTypes): Promise<void>;
}

const STEPS: Readonly<Record<string, MigrationStep>> = {
  '0001_initial': m0001,
  '0002_nightly': m0002,
  '0003_probe': m0003,
  '0004_device_gaps': m0004,
  '0005_backend': m0005,
  '0006_leases_and_hosts': m0006,
  '0007_model_nodes': m0007,
  '0009_work_queue': m0009,
};

/** The names of every migration this version knows, oldest first. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(STEPS);

function bind(step: MigrationStep, types: ColumnTypes): Migration {
  const { down } = step;
  return {
    up: (db) => step.up(db, types),
    ...(down === undefined ? {} : { down: (db) => down(db, types) }),
  };
}

/** The migrations as Kysely's Migrator wants them, with the column types of `dialect`. */
export function migrationProvider(dialect: StoreDialect): MigrationProvider {
  const types = COLUMN_TYPES[dialect];
  return {
    getMigrations: async () =>
      Object.fromEntries(Object.entries(STEPS).map(([name, step]) => [name, bind(step, types)])),
  };
}
