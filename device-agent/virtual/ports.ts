/**
 * The interfaces the protocol core depends on. The core never sees a Node socket, process or file: the TCP
 * adapter (tcp.ts), the process runner (process-runner.ts) and the device file system (device-files.ts) are
 * wired to it in one place, phone.ts.
 */

/** One reliable, ordered byte link to the adb server, as the core sees it. */
export interface ByteDuplex {
  write(bytes: Uint8Array): void;
  /** Tear the link down at once (a TCP reset): what a yanked cable looks like to the host. */
  destroy(): void;
}

/** The device end of one ADB stream, handed to the service that serves it. */
export interface StreamEnd {
  /**
   * Queues bytes for the host. Resolves when the queue is short enough to accept more, so a service that
   * awaits every write never buffers a whole file. After the stream closed, bytes are dropped.
   */
  write(bytes: Uint8Array): Promise<void>;
  /** Sends what is queued, then CLSE. */
  close(): void;
  readonly closed: boolean;
}

/** A service bound to one stream (`shell:...`, `exec:...`, `sync:`). */
export interface StreamService {
  /** Bytes the host wrote. The stream acknowledges them (OKAY) once the returned promise settles. */
  receive(bytes: Uint8Array): Promise<void>;
  /** The host closed the stream, or the link is gone: stop and release everything (processes too). */
  hostClosed(): void;
}

/** Opens a service for an OPEN's destination string; undefined when the phone does not offer it. */
export type ServiceOpener = (destination: string, stream: StreamEnd) => StreamService | undefined;

/** What `lstat` says about a device path (sizes and times as the sync v1 formats carry them). */
export interface DeviceFileStat {
  readonly mode: number;
  readonly sizeBytes: number;
  readonly mtimeS: number;
}

export interface DeviceDirEntry extends DeviceFileStat {
  readonly name: string;
}

/** A file being written by a sync SEND. */
export interface DeviceFileWriter {
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the file and sets its modification time, as SEND's DONE asks. */
  finish(mtimeS: number): Promise<void>;
  /** Closes and removes the partial file after a failed transfer. */
  abort(): Promise<void>;
}

/**
 * The phone's file system as the sync service sees it: device paths, not host paths. Every method rejects
 * with a DeviceFileError (errors.ts) whose message is what adbd would put in a FAIL reply.
 */
export interface DeviceFiles {
  /** lstat; undefined when the path does not exist (STAT v1 then answers all zeros). */
  stat(devicePath: string): Promise<DeviceFileStat | undefined>;
  /** Entries of a directory, `.` and `..` included as adbd lists them; empty when it cannot be read. */
  list(devicePath: string): Promise<readonly DeviceDirEntry[]>;
  read(devicePath: string, chunkBytes: number): AsyncIterable<Uint8Array>;
  /** Creates (or replaces) a file with these permission bits, creating missing parent directories. */
  create(devicePath: string, permissions: number): Promise<DeviceFileWriter>;
}

/** A command started on the phone. Output is stdout and stderr merged, as shell v1 delivers it. */
export interface RunningCommand {
  readonly output: AsyncIterable<Uint8Array>;
  /** Resolves when the process has exited (not necessarily when its output has been read). */
  readonly exited: Promise<void>;
  writeInput(bytes: Uint8Array): Promise<void>;
  /** Kills the command with its whole process group; safe to call twice. */
  kill(): void;
}

/** Starts shell command lines on the phone. `undefined` command = an interactive shell on stdin. */
export interface CommandRunner {
  start(commandLine: string | undefined): RunningCommand;
}
