/**
 * `prunelab fit`'s pure core: store rows in, one LUT per device out (cost-model/fit.ts does the fitting).
 * run-fit.ts reads the rows and writes the files.
 */

import type { Lut, LutFitSettings } from '../../cost-model/index.ts';
import { fitLut } from '../../cost-model/index.ts';
import { type FitRow, groupPointsByDevice } from './points.ts';

export interface FittedDevice {
  readonly deviceId: string;
  /** `lut-<device>.json`, the device id made safe for any file system. */
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
}

/** Device ids hold `:` and `/` (`host:vm`, `adb:emulator-5554`): anything but [A-Za-z0-9._-] becomes `_`. */
export function lutFileName(deviceId: string): string {
  return `lut-${deviceId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}

export function fitDevices(rows: readonly FitRow[], options: FitDevicesOptions): FittedDevice[] {
  return groupPointsByDevice(rows, options.agentHash, options.disturbanceTolerance)
    .filter((group) => group.points.length > 0)
    .map((group) => ({
      deviceId: group.deviceId,
      fileName: lutFileName(group.deviceId),
      lut: fitLut(group.points, {
        createdAt: options.createdAt,
        ...(options.settings === undefined ? {} : { settings: options.settings }),
      }),
      points: group.points.length,
      skippedBuilds: group.skippedBuilds,
      disturbedDropped: group.disturbedDropped,
    }));
}
