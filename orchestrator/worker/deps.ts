/** What a `prunelab worker` is given by the CLI's composition root (the real store, devices and builder). */
import type { AgentBuild } from '../build/agent-build.ts';
import type { EventSink } from '../scheduler/events.ts';
import type { StoreDialect } from '../store/migrations/column-types.ts';
import type { StoreDb } from '../store/open.ts';
import type { Device } from '../transport/port.ts';

export interface WorkerDeps {
  readonly db: StoreDb;
  readonly dialect: StoreDialect;
  /** The store as printed (a PostgreSQL URL without its password, or the SQLite file). */
  readonly dbPath: string;
  /** The devices this host has now, already narrowed by --device; polled every `pollMs`. */
  readonly listDevices: () => Promise<readonly Device[]>;
  readonly buildAgent: (abi: string) => Promise<AgentBuild>;
  readonly hostName: string;
  readonly pid: number;
  readonly emit: EventSink;
  /** Lines for people (stderr). */
  readonly note: (text: string) => void;
  /** SIGTERM or SIGINT: finish the case in flight, give the batch back, exit. */
  readonly stop: AbortSignal;
  /** A second signal: kill the agent now. */
  readonly hardStop: AbortSignal;
  /** The batch and device leases, and the worker's heartbeat (every third of it). */
  readonly leaseMs: number;
  /** How often an idle device asks the queue for work, and the device list is read again. */
  readonly pollMs: number;
  readonly now?: () => Date;
}
