/**
 * Export rows (pure): a stored measurement -> a flat record for notebooks, as CSV (RFC 4180 quoting) or
 * JSON lines. Column names are the contract with whoever reads the files; add columns, do not rename.
 */
import type { MeasurementExportRow } from '../store/export-query.ts';
import { CASE_COLUMN_NAMES, type CaseColumnValues } from '../store/shape-columns.ts';

export const EXPORT_FORMATS = ['csv', 'jsonl'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A measurement as exported: its run, device and case key, the case columns, then its statistics. */
export interface ExportRecord extends CaseColumnValues {
  readonly run_id: string;
  readonly run_created_at: string;
  readonly git_revision: string | null;
  readonly device_id: string;
  readonly device_kind: string;
  readonly device_model: string;
  readonly abi: string;
  readonly build_fingerprint: string;
  readonly agent_hash: string;
  readonly case_key: string;
  /** Model layers (`model/layer`) that have this shape, `;`-separated. */
  readonly layers: string;
  readonly density: number;
  readonly kept_blocks: number;
  readonly kept_energy: number;
  readonly kernel: string;
  readonly flops: number;
  readonly n: number;
  readonly min_ns: number;
  readonly max_ns: number;
  readonly median_ns: number;
  readonly mad_ns: number;
  readonly p10_ns: number;
  readonly p90_ns: number;
  readonly ci_low_ns: number;
  readonly ci_high_ns: number;
  readonly measured_at: string;
  /** Raw samples (JSON array text in CSV, an array in JSONL). */
  readonly samples_ns: readonly number[];
  /** GPU cases: the kernels' own time per sample (OpenCL profiling events); null for CPU cases. */
  readonly kernel_ns: readonly number[] | null;
  /** The weights the agent reports it timed: `seeded` or the weights file's sha256 (empty: before they were recorded). */
  readonly weights_used: string | null;
  /** The agent's FNV-1a 64 of the keep-mask it timed. */
  readonly mask_fnv1a: string | null;
}

export const EXPORT_COLUMNS: readonly (keyof ExportRecord)[] = [
  'run_id',
  'run_created_at',
  'git_revision',
  'device_id',
  'device_kind',
  'device_model',
  'abi',
  'build_fingerprint',
  'agent_hash',
  'case_key',
  'layers',
  ...CASE_COLUMN_NAMES,
  'density',
  'kept_blocks',
  'kept_energy',
  'kernel',
  'flops',
  'n',
  'min_ns',
  'max_ns',
  'median_ns',
  'mad_ns',
  'p10_ns',
  'p90_ns',
  'ci_low_ns',
  'ci_high_ns',
  'measured_at',
  'samples_ns',
  'kernel_ns',
  'weights_used',
  'mask_fnv1a',
];

function layersOf(caseJson: string): string {
  const parsed: unknown = JSON.parse(caseJson);
  const layers = (parsed as { layers?: unknown }).layers;
  return Array.isArray(layers) ? layers.map(String).join(';') : '';
}

export function toExportRecord(row: MeasurementExportRow): ExportRecord {
  const { case_json, samples_ns_json, kernel_ns_json, telemetry_json: _telemetry, ...rest } = row;
  return {
    ...rest,
    layers: layersOf(case_json),
    samples_ns: JSON.parse(samples_ns_json) as number[],
    kernel_ns: kernel_ns_json === null ? null : (JSON.parse(kernel_ns_json) as number[]),
  };
}

/** RFC 4180: quote a field holding a comma, quote, CR or LF (or edge spaces), doubling inner quotes. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = Array.isArray(value) ? JSON.stringify(value) : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvHeader(): string {
  return `${EXPORT_COLUMNS.join(',')}\r\n`;
}

export function csvLine(record: ExportRecord): string {
  return `${EXPORT_COLUMNS.map((column) => csvField(record[column])).join(',')}\r\n`;
}

export function jsonLine(record: ExportRecord): string {
  return `${JSON.stringify(record)}\n`;
}
