/**
 * What the nightly tests share: a virtual phone behind Debian's adb server (test/adb-lab.ts), a tiny sweep
 * config written for it (each night takes seconds), and `night()`, which runs the real CLI in-process
 * (`prunelab nightly --json`) and returns its exit code and the summary it printed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VirtualPhone } from '../device-agent/virtual/phone.ts';
import type { NightlySummary } from '../orchestrator/nightly/run-nightly.ts';
import { type AdbLab, startAdbLab } from './adb-lab.ts';
import { runPrunelab } from './support/cli.ts';

export interface NightlyLab {
  readonly lab: AdbLab;
  readonly phone: VirtualPhone;
  readonly dir: string;
  readonly dbPath: string;
  /** One night; `env` adds variables (PRUNELAB_AGENT_CFLAGS). */
  night(env?: Readonly<Record<string, string>>): Promise<{
    readonly exitCode: number;
    readonly summary: NightlySummary;
    readonly stderr: string;
  }>;
  stop(): Promise<void>;
}

/** The first JSON document on stdout: the summary (a failing exit code appends the error's JSON after it). */
function firstJson(stdout: string): unknown {
  const end = stdout.indexOf('\n}\n');
  if (end < 0) throw new Error(`no JSON summary on stdout:\n${stdout}`);
  return JSON.parse(stdout.slice(0, end + 2));
}

export async function startNightlyLab(
  name: string,
  options: { readonly labExtra?: string; readonly nightlyExtra?: string } = {},
): Promise<NightlyLab> {
  const dir = await mkdtemp(join(tmpdir(), `prunelab-nightly-${name}-`));
  const lab = await startAdbLab([{ abi: 'x86_64', model: `Nightly ${name}` }]);
  const phone = lab.phones[0] as VirtualPhone;
  const configPath = join(dir, 'nightly.yaml');
  // 12 dense ResNet-18 layers in 2 agent calls, the 3 default sentinels before, between and after them.
  await writeFile(
    configPath,
    `sweep:
  models: [resnet18-cifar10]
  schemes: [dense]
  threads: [1]
  measurement: { warmup: 1, minReps: 5, minTimeMs: 10, maxTimeMs: 200 }
  batch: { maxCases: 6 }
devices:
  host: { enabled: false }
  adb: { servers: ["${lab.server}"], startServer: false, workDir: /data/local/tmp/prunelab-nightly }
lab:
  thermal: { thresholdC: 40, pollMs: 100, maxWaitMs: ${options.labExtra ?? '5000'}, batchLimitC: 60 }
nightly:
  sentinelEveryBatches: 1
  minHistoryNights: 3
  expectDevices: ["${phone.serial}"]
${options.nightlyExtra ?? ''}`,
  );
  const dbPath = join(dir, 'nightly.db');
  return {
    lab,
    phone,
    dir,
    dbPath,
    night: async (env = {}) => {
      // The suite turns adb off for the CLI (PRUNELAB_NO_ADB); these tests bring their own server.
      const run = await runPrunelab(['nightly', '--config', configPath, '--db', dbPath, '--json'], {
        ...process.env,
        PRUNELAB_NO_ADB: '0',
        PRUNELAB_NO_HOST: '1',
        ...env,
      });
      if (run.exitCode === 2) throw new Error(`nightly refused its input:\n${run.stdout}\n${run.stderr}`);
      return { exitCode: run.exitCode, summary: firstJson(run.stdout) as NightlySummary, stderr: run.stderr };
    },
    stop: async () => {
      await lab.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs ordinary nights until `count` of them were usable history (exit 0); a night the lab could not trust
 * (this machine's CPUs are shared) does not count. Gives up after `count + 3` nights.
 */
export async function makeHistory(
  lab: NightlyLab,
  count: number,
  log: (line: string) => void,
): Promise<NightlySummary | undefined> {
  let usable = 0;
  let last: NightlySummary | undefined;
  for (let night = 0; night < count + 3 && usable < count; night++) {
    const result = await lab.night();
    log(describeNoise(result.summary));
    if (result.exitCode === 0) usable += 1;
    last = result.summary;
  }
  if (usable < count) throw new Error(`only ${usable} usable nights of ${count + 3}`);
  return last;
}

/**
 * A night the lab refused only because the phone's sentinels were too noisy (this machine's CPUs are
 * shared with other work): the rule working as designed, not a false alarm.
 */
export function onlyUnfit(summary: NightlySummary): boolean {
  const troubles = summary.findings.filter((f) => f.kind === 'unfit' || f.kind === 'lab-trouble');
  return summary.exitCode === 3 && troubles.length > 0 && troubles.every((f) => f.kind === 'unfit');
}

/** One line per night for the test log: what the noise looked like. */
export function describeNoise(summary: NightlySummary): string {
  return summary.devices
    .map(
      (d) =>
        `${summary.nightlyRunId} exit ${summary.exitCode} ${(summary.wallMs / 1000).toFixed(1)} s factor ${d.sentinelFactor?.toFixed(3) ?? '-'} ` +
        `sentinel spread ${(d.sentinelSpread * 100).toFixed(1)}% judged ${d.judged} suspects ${d.suspects} ` +
        `findings ${summary.findings.map((f) => `${f.kind}${f.confirmed ? '' : '?'}`).join(',') || '-'}`,
    )
    .join('\n');
}
