/**
 * The few column types that differ between the store's two dialects, handed to each migration by
 * migrations/index.ts. SQLite's spellings are the ones the migrations always used, so an SQLite database
 * migrates exactly as before (test/store-schema.test.ts compares the schema with a frozen copy).
 */
import type { ColumnDataType, ColumnDefinitionBuilder } from 'kysely';

export type StoreDialect = 'sqlite' | 'postgres';

export interface ColumnTypes {
  readonly dialect: StoreDialect;
  /**
   * A floating-point column. SQLite's `real` is 8 bytes; PostgreSQL's `real` is 4 bytes (6 digits, too few
   * for a median in ns), so PostgreSQL gets `double precision`.
   */
  readonly real: ColumnDataType;
  /** The type of a generated integer key: SQLite `integer ... autoincrement`, PostgreSQL `serial`. */
  readonly generatedKey: ColumnDataType;
  /** Makes a column a generated primary key (PostgreSQL has no `autoincrement` keyword: `serial` does it). */
  generatedKeyColumn(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
}

export const COLUMN_TYPES: Readonly<Record<StoreDialect, ColumnTypes>> = {
  sqlite: {
    dialect: 'sqlite',
    real: 'real',
    generatedKey: 'integer',
    generatedKeyColumn: (column) => column.primaryKey().autoIncrement(),
  },
  postgres: {
    dialect: 'postgres',
    real: 'double precision',
    generatedKey: 'serial',
    generatedKeyColumn: (column) => column.primaryKey(),
  },
};
