/**
 * The Device port: the few things the orchestrator needs from a place that can run the agent. Host, adb and
 * appium adapters implement it; nothing outside an adapter sees execa, adbkit or webdriverio types.
 * Every method rejects with a TransportError (transport/errors.ts), which says whether a retry may help.
 */

export type DeviceKind = 'host' | 'adb' | 'appium';

/** Who a device is. `id` is stable across runs (the store keys devices by it). */
export interface DeviceIdentity {
  readonly id: string;
  readonly kind: DeviceKind;
  /** Agent ABI the device runs: `host`, `arm64-v8a`, ... (the build side maps it to a make target). */
  readonly abi: string;
}

/** What a device says about itself; stored with every run so measurements keep their provenance. */
export interface DeviceInfo {
  readonly identity: DeviceIdentity;
  readonly model: string;
  /** Changes when the device's software changes: Android's ro.build.fingerprint, or OS + kernel on the host. */
  readonly buildFingerprint: string;
  readonly cpuCount: number;
  /** Where the orchestrator may put files on the device (the agent binary goes there). */
  readonly workDir: string;
  /** Anything else the adapter knows, kept as JSON with the device row. */
  readonly details: Readonly<Record<string, unknown>>;
}

export interface PushOptions {
  /** File mode on the device, e.g. 0o755 for the agent binary. */
  readonly mode: number;
}

export interface ShellOptions {
  /** The whole command is killed (with its process group) after this long; the result says `timedOut`. */
  readonly timeoutMs: number;
  /** Written to the command's stdin, which is then closed. Without it stdin is empty. */
  readonly stdin?: string;
  /**
   * Called with each stdout line as it arrives (without its newline; a last line without a newline is
   * delivered too). When set, stdout is not also collected: `ShellResult.stdout` is ''.
   */
  readonly onStdoutLine?: (line: string) => void;
  /** Aborting kills the command (with its process group); the result says `aborted`. */
  readonly signal?: AbortSignal;
  readonly env?: Readonly<Record<string, string>>;
}

export interface ShellResult {
  readonly stdout: string;
  /** The last `STDERR_KEEP_BYTES` of stderr: enough to explain a crash, bounded for a chatty command. */
  readonly stderr: string;
  /** null when the command was ended by a signal. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly durationMs: number;
}

export const STDERR_KEEP_BYTES = 64 * 1024;

/** A command: an argv (no shell involved) or one shell command line. */
export type Command = readonly [string, ...string[]] | string;

export interface Device {
  readonly identity: DeviceIdentity;
  info(): Promise<DeviceInfo>;
  push(localPath: string, remotePath: string, options: PushOptions): Promise<void>;
  pull(remotePath: string, localPath: string): Promise<void>;
  /** Runs a command. A non-zero exit is a result, not a rejection; rejects only when it cannot run at all. */
  shell(command: Command, options: ShellOptions): Promise<ShellResult>;
}
