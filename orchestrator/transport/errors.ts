/**
 * Transport errors. Every one says whether retrying may help (`transient`: a dropped connection, a busy
 * device) or not (`stable`: a missing file, a command that does not exist), the split devlib uses.
 */
import { PrunelabError } from '../errors.ts';

export interface TransportErrorData {
  readonly deviceId: string;
  readonly operation: 'info' | 'push' | 'pull' | 'shell';
  readonly detail?: string;
}

export class TransportError extends PrunelabError<TransportErrorData> {
  override readonly name: string = 'TransportError';
  readonly transient: boolean;

  constructor(message: string, data: TransportErrorData, options: { transient: boolean; cause?: unknown }) {
    super(message, data, { kind: 'failure', cause: options.cause });
    this.transient = options.transient;
  }
}

/** The device cannot be reached right now (connection lost, device offline). Retry later. */
export class DeviceUnavailableError extends TransportError {
  override readonly name = 'DeviceUnavailableError';

  constructor(message: string, data: TransportErrorData, options: { cause?: unknown } = {}) {
    super(message, data, { transient: true, ...options });
  }
}

/** A command could not be started: no such file, not executable. Retrying the same thing cannot help. */
export class CommandStartError extends TransportError {
  override readonly name = 'CommandStartError';

  constructor(message: string, data: TransportErrorData, options: { cause?: unknown } = {}) {
    super(message, data, { transient: false, ...options });
  }
}

/** A file could not be copied to or from the device. */
export class FileTransferError extends TransportError {
  override readonly name = 'FileTransferError';
}

export function isTransientTransportError(error: unknown): boolean {
  return error instanceof TransportError && error.transient;
}
