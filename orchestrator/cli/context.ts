/**
 * What commands receive from the composition root (main.ts): the real adapters, as plain functions and
 * objects. Commands never construct adapters themselves, so tests and later transports can swap them.
 */

import type { DevicesConfig } from '../../config/schema.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import type { ToolStatus } from '../build/toolchains.ts';
import type { OpenedStore, OpenStoreOptions } from '../store/open.ts';
import type { Device } from '../transport/port.ts';

export interface Output {
  /** Data and summaries (what `--json` replaces). */
  out(text: string): void;
  /** Progress, warnings, hints. */
  err(text: string): void;
  readonly stderrIsTty: boolean;
  /** Raw streams, for bulk data (export rows) and progress bars. */
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export interface CliContext {
  readonly output: Output;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly openStore: (path: string, options?: OpenStoreOptions) => Promise<OpenedStore>;
  /**
   * Every device reachable now: the host and the adb phones the config's servers see (defaults: the
   * embedded config). Devices that are listed but unusable (offline, unauthorized) are reported on `err`,
   * unless `quiet` (a sweep polling for phones that join it).
   */
  readonly listDevices: (
    devices?: DevicesConfig,
    options?: { readonly quiet?: boolean },
  ) => Promise<readonly Device[]>;
  /** Ends what listing devices opened (Appium sessions); `main` calls it when a command ends, however it ends. */
  readonly closeDevices?: () => Promise<void>;
  /** `extraCflags`: the Makefile's EXTRA_CFLAGS, a testing aid (see orchestrator/nightly/README.md). */
  readonly buildAgent: (
    abi: string,
    options?: { readonly force?: boolean; readonly extraCflags?: string },
  ) => Promise<AgentBuild>;
  readonly detectToolchains: () => Promise<readonly ToolStatus[]>;
  readonly gitRevision: () => Promise<string | null>;
  readonly hostName: string;
  /** Calls `handler` on each Ctrl-C until the returned function is called. */
  readonly onInterrupt: (handler: () => void) => () => void;
  /** Calls `handler` on each SIGTERM (a service manager stopping a worker) until the returned function is called. */
  readonly onTerminate?: (handler: () => void) => () => void;
}

/** Options every command has. */
export interface GlobalArgs {
  readonly json: boolean;
}

export function printJson(output: Output, value: unknown): void {
  output.out(`${JSON.stringify(value, null, 2)}\n`);
}
