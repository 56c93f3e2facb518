/**
 * What every part of one adb phone's Device shares: the server client, the phone's serial and its work
 * folder; and the one place adb failures become TransportErrors with advice.
 */
import { classifyAdbFailure } from '../android/classify.ts';
import { errorMessage } from '../android/messages.ts';
import {
  DeviceUnavailableError,
  FileTransferError,
  TransportError,
  type TransportErrorData,
} from '../errors.ts';
import type { AdbServerClient } from './adbkit-client.ts';

export interface AdbPhone {
  readonly client: AdbServerClient;
  readonly serial: string;
  readonly workDir: string;
}

/** An adb failure as a TransportError: transient when the link or phone is away, stable otherwise. */
export function adbTransportError(
  phone: AdbPhone,
  operation: TransportErrorData['operation'],
  what: string,
  error: unknown,
  detail?: string,
): TransportError {
  const { client, serial, workDir } = phone;
  const message = errorMessage(error);
  const data = { deviceId: serial, operation, ...(detail === undefined ? {} : { detail }) };
  switch (classifyAdbFailure(message).kind) {
    case 'unavailable':
      return new DeviceUnavailableError(
        `${what} on ${serial}: the device is not reachable (${message}); check \`adb -P ${client.address.port} devices\` and the cable or network`,
        data,
        { cause: error },
      );
    case 'no-space':
      return new FileTransferError(
        `${what} on ${serial}: no space left on the device (${message}); free space under ${workDir} (e.g. \`adb -s ${serial} shell rm -rf ${workDir}\`), then resume the sweep`,
        data,
        { transient: false, cause: error },
      );
    case 'permission':
      return new FileTransferError(
        `${what} on ${serial}: permission denied (${message}); the shell user can write only under /data/local/tmp (devices.adb.workDir)`,
        data,
        { transient: false, cause: error },
      );
    default:
      return operation === 'push' || operation === 'pull'
        ? new FileTransferError(`${what} on ${serial}: ${message}`, data, { transient: false, cause: error })
        : new TransportError(`${what} on ${serial}: ${message}`, data, { transient: false, cause: error });
  }
}
