/** `prunelab status`: hosts, device leases (live or expired), devices, and each recent run's progress and ETA. */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_STORE_PATH } from '../../../config/defaults.ts';
import { UsageError } from '../../errors.ts';
import { readStatus } from '../../status/read-status.ts';
import {
  type LabStatus,
  type QueueProgress,
  summarizeLab,
  type WorkerState,
} from '../../status/summarize.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { formatDurationMs } from '../progress.ts';

interface StatusArgs extends GlobalArgs {
  readonly db: string;
  readonly runs: number;
}

function describeWorker(worker: WorkerState): string {
  const devices = worker.devices.map((device) => `${device.id} (${device.model})`).join(', ') || 'no devices';
  const age = formatDurationMs(worker.heartbeatAgeMs);
  const state =
    worker.state === 'alive'
      ? `alive, heartbeat ${age} ago`
      : worker.state === 'stopped'
        ? 'stopped cleanly'
        : `GONE: no heartbeat for ${age} (killed, hung or cut off); its batches go to other workers`;
  return `${worker.id}: pid ${worker.pid} on ${worker.host}, ${state}; ${devices}`;
}

function describeQueue(queue: QueueProgress): string {
  const eta = queue.etaMs === null ? '' : `, ETA ${formatDurationMs(queue.etaMs)}`;
  return (
    `queue: ${queue.settled}/${queue.cases} cases settled (${(queue.fractionDone * 100).toFixed(0)}%, ${queue.failed} failed); ` +
    `batches ${queue.done} done, ${queue.claimed} claimed${queue.expired > 0 ? ` (${queue.expired} with an expired lease)` : ''}, ${queue.queued} queued of ${queue.batches}${eta}`
  );
}

function describeStatus(status: LabStatus): string {
  const lines = [`Hosts:   ${status.hosts.join(', ') || '(none yet)'}`];
  lines.push(`Leases:  ${status.leases.length === 0 ? 'none (no device is being run)' : ''}`);
  for (const lease of status.leases) {
    const age = formatDurationMs(lease.heartbeatAgeMs);
    lines.push(
      lease.state === 'live'
        ? `  ${lease.deviceId}: held by pid ${lease.pid} on ${lease.host}${lease.runId === null ? '' : ` (run ${lease.runId})`}, heartbeat ${age} ago, token ${lease.token}`
        : `  ${lease.deviceId}: EXPIRED ${lease.expiresAt}: pid ${lease.pid} on ${lease.host} is gone or hung (last heartbeat ${age} ago); the device is free for the next claim`,
    );
  }
  lines.push(`Workers: ${status.workers.length === 0 ? 'none (start one with `prunelab worker`)' : ''}`);
  for (const worker of status.workers) lines.push(`  ${describeWorker(worker)}`);
  lines.push('Runs:');
  for (const run of status.runs) {
    const { counts } = run;
    const eta = run.etaMs === null ? '' : `, ETA ${formatDurationMs(run.etaMs)}`;
    if (run.queue !== null) {
      lines.push(`  ${run.id} (${run.host}): ${run.status}, ${describeQueue(run.queue)}`);
      continue;
    }
    lines.push(
      `  ${run.id} (${run.host}): ${run.status}, ${counts.done}/${run.tasks} done (${(run.fractionDone * 100).toFixed(0)}%), ${counts.pending + counts.running} pending, ${counts.failed} failed, ${counts.skipped} skipped${eta}`,
    );
  }
  if (status.runs.length === 0) lines.push('  (no runs yet)');
  lines.push(
    `Devices: ${status.devices.map((device) => `${device.id} (${device.model}, ${device.abi})`).join(', ') || '(none yet)'}`,
  );
  return `${lines.join('\n')}\n`;
}

export function statusCommand(context: CliContext): CommandModule<GlobalArgs, StatusArgs> {
  return {
    command: 'status',
    describe:
      'Show the lab: hosts, workers (alive or gone), device leases, devices, recent runs (and their work queue) with progress and ETA',
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('db', {
          type: 'string',
          default: DEFAULT_STORE_PATH,
          describe: 'SQLite file or postgres:// URL',
        })
        .option('runs', { type: 'number', default: 10, describe: 'how many recent runs to show' })
        .example('$0 status --db postgres://prunelab@db-host/prunelab', 'the shared lab at a glance')
        .example('$0 status --json', 'the same as JSON') as unknown as Argv<StatusArgs>,
    handler: async (args: ArgumentsCamelCase<StatusArgs>) => {
      if (!Number.isInteger(args.runs) || args.runs < 1) {
        throw new UsageError(`--runs: expected a whole number >= 1, got ${String(args.runs)}`, {
          option: '--runs',
        });
      }
      const store = await context.openStore(args.db, { mustExist: true });
      let status: LabStatus;
      try {
        status = summarizeLab(await readStatus(store.db, args.runs, new Date()), new Date());
      } finally {
        await store.close();
      }
      if (args.json) printJson(context.output, { db: store.path, ...status });
      else context.output.out(describeStatus(status));
    },
  };
}
