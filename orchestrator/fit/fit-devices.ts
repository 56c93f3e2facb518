/**
 * `prunelab fit`'s pure core: store rows in, one LUT per device and backend out (cost-model/fit.ts does the
 * fitting). run-fit.ts reads the rows and writes the files.
 */
import type { Backend } from '../../config/vocabulary.ts';
import type { Lut, LutFitSettings, LutWeights } from '../../cost-model/index.ts';
import { fitLut } from '../../cost-model/index.ts';
import { type FitRow, groupPointsByDevice } from './points.ts';
import { selectWeights, type WeightsChoice } from './weights.ts';

export interface FittedDevice {
  readonly deviceId: string;
  readonly backend: Backend;
  /** `lut-<device>.json` (cpu) or `lut-<device>-gpu.json`, the device id made safe for any file system. */
  readonly fileName: string;
  readonly lut: Lut;
  readonly points: number;
  readonly skippedBuilds: Readonly<Record<string, number>>;
  /** Measurements left out as disturbed: another run measured the same case calm. */
  readonly disturbedDropped: number;
}

export interface FitDevicesOptions {
  readonly createdAt: string;
  /** Fit this agent build instead of each device's most recent one. */
  readonly agentHash?: string;
  readonly settings?: Partial<LutFitSettings>;
  /** lab.disturbance.tolerance: a probe this much over its run's fastest marks a measurement disturbed. */
  readonly disturbanceTolerance?: number;
  /** Which weights to fit from (weights.ts; default auto: refuse a device with both kinds). */
  readonly weights?: WeightsChoice;
}

/**
 * Device ids hold `:` and `/` (`host:vm`, `adb:emulator-5554`): anything but [A-Za-z0-9._-] becomes `_`. A GPU
 * LUT gets `-gpu`: the device's GPU is another machine as far as latency goes.
 */
export function lutFileName(deviceId: string, backend: Backend = 'cpu'): string {
  return `lut-${deviceId.replace(/[^A-Za-z0-9._-]/g, '_')}${backend === 'gpu' ? '-gpu' : ''}.json`;
}

function weightsOption(weights: LutWeights | undefined): { weights?: LutWeights } {
  return weights === undefined ? {} : { weights };
}

const BACKEND_ORDER: readonly Backend[] = ['cpu', 'gpu'];

/** Each device's rows narrowed to the chosen weights, and what its LUT says about them. */
function rowsByWeights(
  rows: readonly FitRow[],
  choice: WeightsChoice,
): { rows: FitRow[]; weights: Map<string, LutWeights> } {
  const byDevice = new Map<string, FitRow[]>();
  for (const row of rows) byDevice.set(row.device_id, [...(byDevice.get(row.device_id) ?? []), row]);
  const kept: FitRow[] = [];
  const weights = new Map<string, LutWeights>();
  for (const [deviceId, deviceRows] of byDevice) {
    const selection = selectWeights(deviceId, deviceRows, choice);
    kept.push(...selection.rows);
    if (selection.weights !== undefined) weights.set(deviceId, selection.weights);
  }
  return { rows: kept, weights };
}

export function fitDevices(rows: readonly FitRow[], options: FitDevicesOptions): FittedDevice[] {
  const selected = rowsByWeights(rows, options.weights ?? 'auto');
  return groupPointsByDevice(selected.rows, options.agentHash, options.disturbanceTolerance).flatMap(
    (group) =>
      BACKEND_ORDER.map((backend) => ({
        backend,
        points: group.points.filter((point) => (point.backend ?? 'cpu') === backend),
      }))
        .filter(({ points }) => points.length > 0)
        .map(({ backend, points }) => ({
          deviceId: group.deviceId,
          backend,
          fileName: lutFileName(group.deviceId, backend),
          lut: fitLut(points, {
            createdAt: options.createdAt,
            ...weightsOption(selected.weights.get(group.deviceId)),
            ...(options.settings === undefined ? {} : { settings: options.settings }),
          }),
          points: points.length,
          skippedBuilds: group.skippedBuilds,
          disturbedDropped: group.disturbedDropped,
        })),
  );
}
