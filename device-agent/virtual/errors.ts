/**
 * Errors of the virtual phone. Each has a name, the data that explains it and the original error as
 * `cause`. The virtual phone may import only config/, so it has its own small base class.
 */

export class VirtualPhoneError<Data extends object = Record<string, unknown>> extends Error {
  override readonly name: string = 'VirtualPhoneError';
  readonly data: Data;

  constructor(message: string, data: Data, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.data = data;
  }
}

/** The host sent something that is not ADB (bad magic, oversized payload): the link is torn down. */
export class ProtocolError extends VirtualPhoneError<{ readonly header?: object }> {
  override readonly name = 'ProtocolError';
}

/** Options that cannot describe a phone (bad port, bad ABI, bad regular expression, ...). */
export class PhoneOptionError extends VirtualPhoneError<{ readonly option: string; readonly found: string }> {
  override readonly name = 'PhoneOptionError';
}

/** The host lacks a tool the phone needs (bubblewrap, qemu-user-static), or the tool does not work here. */
export class PhoneToolError extends VirtualPhoneError<{
  readonly tool: string;
  readonly debianPackage: string;
}> {
  override readonly name = 'PhoneToolError';
}

/**
 * A file operation on a device path failed. `message` is what adbd would put in a sync FAIL reply, e.g.
 * `write failed: No space left on device`; `errno` is the POSIX name.
 */
export class DeviceFileError extends VirtualPhoneError<{
  readonly devicePath: string;
  readonly errno: string;
}> {
  override readonly name = 'DeviceFileError';
}

/** strerror() texts for the errno names a device file operation can meet, as bionic spells them. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOSPC: 'No space left on device',
  EROFS: 'Read-only file system',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EEXIST: 'File exists',
  ETXTBSY: 'Text file busy',
  ENAMETOOLONG: 'File name too long',
  EINVAL: 'Invalid argument',
  EIO: 'I/O error',
};

export function strerror(errno: string): string {
  return STRERROR[errno] ?? errno;
}

/** Wraps a Node fs error (or anything) as a DeviceFileError with adbd's `<what>: <strerror>` message. */
export function deviceFileError(what: string, devicePath: string, error: unknown): DeviceFileError {
  const errno =
    typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string'
      ? error.code
      : 'EIO';
  return new DeviceFileError(`${what}: ${strerror(errno)}`, { devicePath, errno }, { cause: error });
}
