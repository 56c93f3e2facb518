/**
 * `npm run bench:adb [-- --json] [-- --quick]`: what the adb transport costs the orchestrator, measured on
 * virtual phones behind Debian's real adb server (test/adb-lab.ts). The timings are the host's (the
 * virtual phone runs the agent on this machine), so they measure plumbing, never a phone.
 *
 * 1. Per-case overhead with idle cases (the agent only sleeps 1 ms or 20 ms per case, one repetition):
 *    (sweep wall time - the agent's own time for the cases) / cases, through the host transport and
 *    through adb (lab hygiene on: thermal gate reading, telemetry after each batch, pinning), side by side.
 *    Median of 3 runs. Target: <= 10 ms per case through adb.
 * 2. Scaling: every phone runs the same idle sweep (each device gets every case), on 1, 2 and 4 phones at
 *    once; throughput = measurements per second over all phones. Target: 4 phones >= 3x the throughput of 1.
 * 3. A phone restarted mid-sweep (restart.ts): from listed again to its next agent call (median of 5
 *    restarts; target: within 5 s), and the wall-time cost of one restart on a 2-phone sweep.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdbLab, startAdbLab } from '../../test/adb-lab.ts';
import { medianOf } from '../stats/index.ts';
import { type OpenedStore, openStore } from '../store/open.ts';
import { createHostDevice } from '../transport/host.ts';
import type { Device } from '../transport/port.ts';
import { idleSweep } from './idle-sweep.ts';
import { restartBench } from './restart.ts';

const TARGET_OVERHEAD_MS = 10;
const TARGET_SPEEDUP_4 = 3;
const TARGET_RESUME_MS = 5_000;
async function overhead(store: OpenedStore, device: Device, durationUs: number, quick: boolean) {
  const cases = quick ? 40 : 100;
  const perCase: number[] = [];
  const walls: number[] = [];
  for (let repeat = 0; repeat < 3; repeat++) {
    const { wallMs, agentMs } = await idleSweep(store, [device], cases, durationUs, 50);
    perCase.push((wallMs - agentMs) / cases);
    walls.push(wallMs);
  }
  return {
    durationMs: durationUs / 1000,
    cases,
    overheadMsPerCase: medianOf(perCase),
    wallMs: medianOf(walls),
    runsMs: perCase,
  };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const dir = await mkdtemp(join(tmpdir(), 'prunelab-bench-adb-'));
  let lab: AdbLab | undefined;
  const store = await openStore(join(dir, 'bench.db'));
  try {
    lab = await startAdbLab(
      Array.from({ length: 4 }, (_, i) => ({ abi: 'x86_64', model: `Bench Phone ${i + 1}` })),
    );
    const phones = lab.phones;
    const host = createHostDevice({ workDir: join(dir, 'host') });
    const adbDevice = (index: number) => {
      const phone = phones[index];
      if (phone === undefined || lab === undefined) throw new Error('bench lab has fewer phones than asked');
      return lab.device(phone);
    };

    const idle = [];
    for (const durationUs of [1_000, 20_000]) {
      idle.push({
        host: await overhead(store, host, durationUs, quick),
        adb: await overhead(store, adbDevice(0), durationUs, quick),
      });
    }

    const scaleCases = quick ? 20 : 40;
    const scaling = [];
    for (const count of [1, 2, 4]) {
      const devices = Array.from({ length: count }, (_, i) => adbDevice(i));
      const runs = [];
      for (let repeat = 0; repeat < (quick ? 1 : 3); repeat++)
        runs.push(await idleSweep(store, devices, scaleCases, 50_000, 20));
      const wallMs = medianOf(runs.map((r) => r.wallMs));
      scaling.push({
        phones: count,
        casesPerPhone: scaleCases,
        wallMs,
        casesPerS: (count * scaleCases) / (wallMs / 1000),
      });
    }
    const restart = await restartBench(lab, store, quick);
    const base = scaling[0]?.casesPerS ?? Number.NaN;
    const speedup4 = (scaling[2]?.casesPerS ?? Number.NaN) / base;
    const result = {
      note: 'virtual phones on this host: orchestration overhead and scaling only, not phone latencies',
      idle,
      scaling: scaling.map((s) => ({ ...s, speedup: s.casesPerS / base })),
      restart,
      targets: {
        adbOverheadMsPerCase: TARGET_OVERHEAD_MS,
        adbOverheadMet: idle.every((r) => r.adb.overheadMsPerCase <= TARGET_OVERHEAD_MS),
        speedup4: TARGET_SPEEDUP_4,
        speedup4Met: speedup4 >= TARGET_SPEEDUP_4,
        resumeMs: TARGET_RESUME_MS,
        resumeMet: restart.resumeMsMedian <= TARGET_RESUME_MS,
      },
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const lines = [
      'bench:adb (virtual phones on this host: plumbing, not phone latencies; medians)',
      'idle case        host overhead/case   adb overhead/case   adb wall (cases)',
      ...idle.map(
        (r) =>
          `${`${r.adb.durationMs} ms`.padEnd(17)}${`${r.host.overheadMsPerCase.toFixed(2)} ms`.padEnd(21)}${`${r.adb.overheadMsPerCase.toFixed(2)} ms`.padEnd(20)}${(r.adb.wallMs / 1000).toFixed(2)} s (${r.adb.cases})`,
      ),
      `  target: adb <= ${TARGET_OVERHEAD_MS} ms per case: ${result.targets.adbOverheadMet ? 'met' : 'NOT met'}`,
      'phones  cases/phone  wall      cases/s   speedup',
      ...result.scaling.map(
        (s) =>
          `${String(s.phones).padEnd(8)}${String(s.casesPerPhone).padEnd(13)}${`${(s.wallMs / 1000).toFixed(2)} s`.padEnd(10)}${s.casesPerS.toFixed(1).padEnd(10)}${s.speedup.toFixed(2)}x`,
      ),
      `  target: 4 phones >= ${TARGET_SPEEDUP_4}x of 1: ${result.targets.speedup4Met ? 'met' : 'NOT met'}`,
      `phone restarted mid-sweep (down ${restart.downMs / 1000} s, ${restart.restarts} restarts):`,
      `  listed again -> next agent call: median ${(restart.resumeMsMedian / 1000).toFixed(2)} s (${restart.resumeMs.map((ms) => (ms / 1000).toFixed(2)).join(', ')} s)`,
      `  target: <= ${TARGET_RESUME_MS / 1000} s: ${result.targets.resumeMet ? 'met' : 'NOT met'}`,
      `  2 phones x ${restart.twoPhones.casesPerPhone} cases: undisturbed ${(restart.twoPhones.undisturbedWallMs / 1000).toFixed(2)} s, one restart ${(restart.twoPhones.oneRestartWallMs / 1000).toFixed(2)} s: +${(restart.twoPhones.restartCostMs / 1000).toFixed(2)} s (${(restart.twoPhones.restartCostBeyondDownMs / 1000).toFixed(2)} s beyond the time down)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await store.close();
    await lab?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
