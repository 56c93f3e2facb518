/**
 * A small ADB lab for tests and `npm run bench:adb`: Debian's real adb server on a free port with HOME in a
 * temporary folder, virtual phones `adb connect`ed to it, and the transport's devices for them. `stop()`
 * runs `adb kill-server` and stops the phones; call it in `after` so it runs even when a test failed.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DEFAULT_LAB } from '../config/defaults.ts';
import type { LabConfig } from '../config/schema.ts';
import type { VirtualPhoneOptions } from '../device-agent/virtual/options.ts';
import { startVirtualPhone, type VirtualPhone } from '../device-agent/virtual/phone.ts';
import { buildAgent } from '../orchestrator/build/agent-build.ts';
import type { DeviceQueue } from '../orchestrator/scheduler/scheduler.ts';
import { upsertDevice } from '../orchestrator/store/devices.ts';
import type { StoreDb } from '../orchestrator/store/open.ts';
import { createRun } from '../orchestrator/store/runs.ts';
import { insertTasks, type TaskInput } from '../orchestrator/store/tasks.ts';
import { prepareDevice } from '../orchestrator/sweep/run-sweep.ts';
import { createAdbServerClient } from '../orchestrator/transport/adb/adbkit-client.ts';
import { type AdbDevice, createAdbDevice } from '../orchestrator/transport/adb/device.ts';
import type { Device } from '../orchestrator/transport/port.ts';

const AGENT_DIR = fileURLToPath(new URL('../device-agent', import.meta.url));

export interface AdbLab {
  readonly port: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly phones: readonly VirtualPhone[];
  readonly server: string;
  /** The transport's device for a phone; `workDir` gives a test its own folder on the phone. */
  device(phone: VirtualPhone, workDir?: string): AdbDevice;
  adb(args: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /**
   * Kills a phone as a reboot or a pulled cable does: its process ends, its links drop, its /data/local/tmp
   * is gone. The returned function starts it again on the same port (so the same serial), with `change`
   * over its first options (a new build fingerprint, say); the lab then lists the new phone in its place.
   */
  kill(phone: VirtualPhone): Promise<(change?: Partial<VirtualPhoneOptions>) => Promise<VirtualPhone>>;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startAdbLab(phoneOptions: readonly VirtualPhoneOptions[]): Promise<AdbLab> {
  const workDir = await mkdtemp(join(tmpdir(), 'prunelab-adb-lab-'));
  const home = join(workDir, 'home');
  await mkdir(home, { recursive: true });
  const port = await freePort();
  const env = { ...process.env, HOME: home };
  const adb = async (args: readonly string[]) => {
    const result = await execa('adb', ['-P', String(port), ...args], {
      env,
      reject: false,
      timeout: 30_000,
      stdin: 'ignore',
    });
    return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  const phones: VirtualPhone[] = [];
  // Phones first, then the server: killing the server while the phones' links are up has left the test
  // process spinning after its last test (seen under node --test; not understood yet).
  const stop = async (): Promise<void> => {
    await Promise.all(phones.map((phone) => phone.stop()));
    await adb(['kill-server']);
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const started = await adb(['start-server']);
    if (started.exitCode !== 0) throw new Error(`adb start-server failed: ${started.stderr}`);
    phones.push(...(await Promise.all(phoneOptions.map((options) => startVirtualPhone(options)))));
    for (const phone of phones) {
      const connected = await adb(['connect', phone.serial]);
      if (!/connected to/.test(connected.stdout))
        throw new Error(`adb connect ${phone.serial}: ${connected.stdout}`);
    }
    await waitFor('the phones online', async () => {
      const listing = await adb(['devices']);
      return phones.every((phone) =>
        new RegExp(`^${phone.serial.replace(/\./g, '\\.')}\\s+device$`, 'm').test(listing.stdout),
      );
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const client = createAdbServerClient({ host: '127.0.0.1', port });
  const kill = async (phone: VirtualPhone) => {
    const index = phones.indexOf(phone);
    const options = phoneOptions[index];
    if (index < 0 || options === undefined)
      throw new Error(`kill: ${phone.serial} is not a phone of this lab`);
    await phone.stop();
    return async (change: Partial<VirtualPhoneOptions> = {}) => {
      const again = await startVirtualPhone({ ...options, ...change, port: phone.port });
      phones[index] = again;
      return again;
    };
  };
  return {
    port,
    env,
    phones,
    server: `127.0.0.1:${port}`,
    device: (phone, deviceWorkDir) =>
      createAdbDevice({
        client,
        serial: phone.serial,
        abi: phone.abi,
        pollMs: 100,
        ...(deviceWorkDir === undefined ? {} : { workDir: deviceWorkDir }),
      }),
    adb,
    kill,
    stop,
  };
}

/** Idle cases (the agent only sleeps): what the fault tests and the benchmark run through the scheduler. */
export interface IdleRunOptions {
  readonly runId: string;
  readonly cases: number;
  readonly durationUs: number;
  readonly batchCases: number;
}

export function idleTasks(options: Pick<IdleRunOptions, 'cases' | 'durationUs' | 'batchCases'>): TaskInput[] {
  return Array.from({ length: options.cases }, (_, index) => ({
    caseKey: `idle-${options.durationUs}us-${index}`,
    batchIndex: Math.floor(index / options.batchCases),
    seq: index % options.batchCases,
    caseJson: { op: 'idle', durationUs: options.durationUs },
    planLine: { op: 'idle', durationUs: options.durationUs, warmup: 0, minReps: 1, minTimeMs: 0, maxReps: 1 },
  }));
}

/**
 * Records the devices and a run of idle tasks, then prepares each device as a sweep does (build, push,
 * lab hygiene on phones: run-sweep.ts's prepareDevice). Returns the queues for runQueues.
 */
export async function prepareIdleRun(
  db: StoreDb,
  devices: readonly Device[],
  options: IdleRunOptions,
  labConfig: LabConfig = DEFAULT_LAB,
): Promise<DeviceQueue[]> {
  await createRun(db, {
    id: options.runId,
    configJson: '{}',
    configHash: options.runId,
    gitRevision: null,
    host: 'test',
  });
  const build = (abi: string) => buildAgent(abi, { agentDir: AGENT_DIR, env: process.env });
  return Promise.all(
    devices.map(async (device) => {
      const info = await device.info();
      await upsertDevice(db, info);
      await insertTasks(db, options.runId, device.identity.id, idleTasks(options));
      const prepared = await prepareDevice({ db, buildAgent: build }, device, info, options.runId, labConfig);
      return prepared.queue;
    }),
  );
}
