/**
 * A test-only Appium driver with exactly the UiAutomator2 semantics the appium transport relies on, so a
 * real Appium 3 server can stand in front of the virtual phone (which has no Android runtime to host
 * UiAutomator2's on-device server). Mirrors appium-android-driver's `pushFile`, `pullFile` and
 * `mobileShell` (lib/commands/file-actions.js, lib/commands/shell.js): base64 payloads over adb push/pull,
 * and `mobile: shell` gated by the `adb_shell` insecure feature, run as `adb shell COMMAND ARGS...` with a
 * timeout, failing with the command's output in the message. Capabilities: `appium:udid` (the adb serial)
 * and `appium:adbPort` (the adb server's port), as UiAutomator2 names them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseDriver, errors } from 'appium/driver.js';

/** UiAutomator2's name for the feature (`--allow-insecure <automationName>:adb_shell`). */
const ADB_SHELL_FEATURE = 'adb_shell';
/** UiAutomator2's default `mobile: shell` timeout. */
const DEFAULT_SHELL_TIMEOUT_MS = 20_000;

const CONSTRAINTS = {
  platformName: { presence: true, isString: true },
  udid: { presence: true, isString: true },
  adbPort: { isNumber: true },
} as const;

interface AdbRun {
  readonly stdout: string;
  readonly stderr: string;
  /** Set when adb failed or timed out. */
  readonly error?: Error;
}

export class PrunelabAdbDriver extends BaseDriver<typeof CONSTRAINTS> {
  static executeMethodMap = {
    'mobile: shell': {
      command: 'mobileShell',
      params: { required: ['command'], optional: ['args', 'timeout', 'includeStderr'] },
    },
  } as const;

  override desiredCapConstraints = CONSTRAINTS;

  private adb(
    args: readonly string[],
    timeoutMs: number,
    encoding: 'utf8' | 'buffer' = 'utf8',
  ): Promise<AdbRun> {
    const opts = this.opts as { udid?: string; adbPort?: number };
    const server = opts.adbPort === undefined ? [] : ['-P', String(opts.adbPort)];
    return new Promise((resolve) => {
      execFile(
        'adb',
        [...server, '-s', opts.udid ?? '', ...args],
        { timeout: timeoutMs, encoding, maxBuffer: 256 * 1024 * 1024 },
        (error, stdout, stderr) =>
          resolve({ stdout: String(stdout), stderr: String(stderr), ...(error === null ? {} : { error }) }),
      );
    });
  }

  override async createSession(...args: Parameters<BaseDriver<typeof CONSTRAINTS>['createSession']>) {
    const created = await super.createSession(...args);
    // UiAutomator2 refuses a session for a device adb does not list; so does this driver.
    const state = await this.adb(['get-state'], 10_000);
    if (state.stdout.trim() !== 'device') {
      await super.deleteSession();
      throw new errors.SessionNotCreatedError(
        `device ${String(this.opts.udid)} is not online (${(state.stderr || state.stdout).trim()})`,
      );
    }
    return created;
  }

  async execute(script: string, args: unknown[]): Promise<unknown> {
    return this.executeMethod(script, args as [Record<string, unknown>]);
  }

  async mobileShell(
    command: string,
    args: string | string[] = [],
    timeout = DEFAULT_SHELL_TIMEOUT_MS,
    includeStderr = false,
  ): Promise<string | { stdout: string; stderr: string }> {
    this.assertFeatureEnabled(ADB_SHELL_FEATURE);
    if (typeof command !== 'string') throw new errors.InvalidArgumentError('command must be a string');
    const run = await this.adb(['shell', command, ...(Array.isArray(args) ? args : [args])], timeout);
    if (run.error !== undefined) {
      throw new errors.UnknownError(
        `Cannot execute the '${command}' shell command. Original error: ${run.error.message}. StdOut: ${run.stdout}. StdErr: ${run.stderr}`,
      );
    }
    return includeStderr ? { stdout: run.stdout, stderr: run.stderr } : run.stdout;
  }

  async pushFile(remotePath: string, base64Data: string): Promise<void> {
    if (remotePath.endsWith('/')) throw new errors.InvalidArgumentError(`'${remotePath}' is a folder`);
    await this.withTempFile(async (local) => {
      await writeFile(local, Buffer.from(base64Data, 'base64'));
      const run = await this.adb(['push', local, remotePath], 120_000);
      if (run.error !== undefined)
        throw new errors.UnknownError(`adb push failed: ${run.stderr || run.stdout}`);
    });
  }

  async pullFile(remotePath: string): Promise<string> {
    return this.withTempFile(async (local) => {
      const run = await this.adb(['pull', remotePath, local], 120_000);
      if (run.error !== undefined)
        throw new errors.UnknownError(`adb pull failed: ${run.stderr || run.stdout}`);
      return (await readFile(local)).toString('base64');
    });
  }

  private async withTempFile<T>(work: (path: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(tmpdir(), 'prunelab-appium-driver-'));
    try {
      return await work(join(dir, 'file'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
