/** Errors of the scheduler. Per-case failures are records in the store, never thrown; these stop a device. */
import { PrunelabError } from '../errors.ts';

/** A device was stopped: too many cases in a row failed, or the agent cannot be started there at all. */
export class DeviceStoppedError extends PrunelabError<{
  readonly deviceId: string;
  readonly consecutiveFailures?: number;
}> {
  override readonly name = 'DeviceStoppedError';
}
