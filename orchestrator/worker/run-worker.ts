/**
 * `prunelab worker`: the long-running process on a lab host. It registers itself (host, pid, its devices)
 * with a heartbeat, runs one loop per device it has (device-loop.ts) that claims the queue's batches whose
 * target the device matches, reads the device list again every poll (a phone that arrives gets a loop, one
 * that leaves ends its loop once its batch is settled or given back), and says when nothing in the queue is
 * for its devices. A stop (SIGTERM, SIGINT) lets each device finish the case in flight, gives the batches
 * back, restores the labs and marks the worker stopped.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.ts';
import { upsertDevice } from '../store/devices.ts';
import { waitingTargets } from '../store/work-queue.ts';
import { beatWorker, registerWorker, stopWorker, type WorkerDevice } from '../store/workers.ts';
import type { Device } from '../transport/port.ts';
import type { PreparedRuns } from './claimed-batch.ts';
import type { WorkerDeps } from './deps.ts';
import { deviceLoop, workerDevice } from './device-loop.ts';
import { formatTarget, matches } from './target.ts';

export interface WorkerSummary {
  readonly workerId: string;
  readonly devicesSeen: number;
}

interface Worker {
  readonly id: string;
  readonly devices: Map<string, WorkerDevice>;
  readonly loops: Map<string, Promise<void>>;
  readonly idle: Set<string>;
  readonly labs: PreparedRuns['labs'];
  lastWaitNote: string;
}

/** What is waiting in the queue that this host cannot run, said once per change. */
async function noteWaiting(deps: WorkerDeps, worker: Worker): Promise<void> {
  const mine = [...worker.devices.values()];
  const here =
    mine
      .map((d) => `${d.id} (${formatTarget({ kind: 'model', value: d.model })}, abi=${d.abi})`)
      .join(', ') || 'no device';
  const waiting = await waitingTargets(deps.db, (deps.now ?? (() => new Date()))());
  const foreign = waiting.filter((entry) => !mine.some((device) => matches(entry.target, device)));
  const text =
    waiting.length === 0
      ? `worker ${worker.id}: the queue is empty; waiting for \`prunelab sweep --enqueue\` (devices here: ${here})`
      : foreign.length === waiting.length
        ? `worker ${worker.id}: no device here matches what the queue holds (${foreign.map((e) => `${e.batches} batches for ${e.target}`).join(', ')}); devices here: ${here}; waiting`
        : '';
  if (text === '' || text === worker.lastWaitNote) return;
  worker.lastWaitNote = text;
  deps.note(`${text}\n`);
}

function beat(deps: WorkerDeps, worker: Worker): Promise<void> {
  const now = deps.now ?? (() => new Date());
  return beatWorker(deps.db, worker.id, [...worker.devices.values()], now()).catch(() => undefined);
}

function startLoop(deps: WorkerDeps, worker: Worker, device: Device): void {
  const id = device.identity.id;
  const prepared: PreparedRuns = { queues: new Map(), labs: worker.labs };
  const loop = (async () => {
    const info = await device.info();
    await upsertDevice(deps.db, info, (deps.now ?? (() => new Date()))());
    worker.devices.set(id, workerDevice(info));
    // Status shows the device at once, not at the next heartbeat.
    await beat(deps, worker);
    deps.note(`worker ${worker.id}: ${id} (model=${info.model}, abi=${info.identity.abi}) ready for work\n`);
    await deviceLoop(
      deps,
      {
        workerId: worker.id,
        present: () => worker.devices.has(id),
        idle: (deviceId) => {
          worker.idle.add(deviceId);
          if (worker.idle.size === worker.devices.size) noteWaiting(deps, worker).catch(() => undefined);
        },
        busy: (deviceId) => {
          worker.idle.delete(deviceId);
          worker.lastWaitNote = '';
        },
      },
      device,
      info,
      prepared,
    );
  })()
    .catch((error: unknown) => deps.note(`worker ${worker.id}: ${id} stopped: ${messageOf(error)}\n`))
    .finally(() => {
      worker.loops.delete(id);
      worker.devices.delete(id);
      worker.idle.delete(id);
    });
  worker.loops.set(id, loop);
}

/** Reads the device list: new devices get a loop, devices that left end theirs. */
async function discover(deps: WorkerDeps, worker: Worker): Promise<void> {
  let listed: readonly Device[];
  try {
    listed = await deps.listDevices();
  } catch (error) {
    deps.note(`worker ${worker.id}: could not list devices (${messageOf(error)}); trying again\n`);
    return;
  }
  const ids = new Set(listed.map((device) => device.identity.id));
  for (const id of worker.devices.keys()) {
    if (!ids.has(id)) {
      deps.note(`worker ${worker.id}: ${id} left this host\n`);
      worker.devices.delete(id);
    }
  }
  for (const device of listed) if (!worker.loops.has(device.identity.id)) startLoop(deps, worker, device);
  if (listed.length === 0 && worker.lastWaitNote !== 'no devices') {
    worker.lastWaitNote = 'no devices';
    deps.note(`worker ${worker.id}: no device on this host (or none that --device admits); waiting\n`);
  }
}

export async function runWorker(deps: WorkerDeps): Promise<WorkerSummary> {
  const now = deps.now ?? (() => new Date());
  const worker: Worker = {
    id: randomUUID().slice(0, 8),
    devices: new Map(),
    loops: new Map(),
    idle: new Set(),
    labs: [],
    lastWaitNote: '',
  };
  await registerWorker(
    deps.db,
    { id: worker.id, host: deps.hostName, pid: deps.pid, leaseMs: deps.leaseMs },
    now(),
  );
  deps.note(`worker ${worker.id} (pid ${deps.pid} on ${deps.hostName}) on ${deps.dbPath}\n`);
  const heartbeat = setInterval(() => beat(deps, worker), Math.max(50, Math.floor(deps.leaseMs / 3)));
  const seen = new Set<string>();
  const anyStop = AbortSignal.any([deps.stop, deps.hardStop]);
  try {
    while (!anyStop.aborted) {
      await discover(deps, worker);
      for (const id of worker.loops.keys()) seen.add(id);
      await sleep(deps.pollMs, undefined, { signal: anyStop }).catch(() => undefined);
    }
    deps.note(
      `worker ${worker.id}: stopping: each device finishes its case in flight and gives its batch back\n`,
    );
    await Promise.all([...worker.loops.values()]);
  } finally {
    clearInterval(heartbeat);
    await Promise.all(worker.labs.map((lab) => lab.finish().catch(() => undefined)));
    await stopWorker(deps.db, worker.id, now()).catch(() => undefined);
  }
  return { workerId: worker.id, devicesSeen: seen.size };
}
