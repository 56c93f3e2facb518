/**
 * `npm run bench:appium [-- --json] [-- --quick]`: what reaching a phone through Appium costs against adb,
 * side by side on one virtual phone behind Debian's real adb server and a real Appium 3 server (the
 * project's test driver, test/appium-driver/). The timings are this host's: they measure plumbing (HTTP,
 * the detached job and its polls), never a phone.
 *
 * 1. Command round trip: `shell true`, adb and Appium interleaved, median of N each.
 * 2. Per-case overhead of an idle sweep (the agent sleeps 1 ms per case): (wall - agent time) / cases, with
 *    lab hygiene on, batches of 20 cases, median of 3 runs each, interleaved.
 * The ratios are the figures to read; absolute times move with the machine's load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppiumLab, startAppiumLab } from '../../test/appium-lab.ts';
import { medianOf } from '../stats/index.ts';
import { openStore } from '../store/open.ts';
import { connectAppiumDevice } from '../transport/appium/connect.ts';
import type { AppiumDevice } from '../transport/appium/device.ts';
import type { Device } from '../transport/port.ts';
import { idleSweep } from './idle-sweep.ts';

async function roundTripMs(device: Device): Promise<number> {
  const started = performance.now();
  const result = await device.shell('true', { timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(`shell true on ${device.identity.id}: exit ${result.exitCode}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const quick = process.argv.includes('--quick');
  const dir = await mkdtemp(join(tmpdir(), 'prunelab-bench-appium-'));
  const store = await openStore(join(dir, 'bench.db'));
  let lab: AppiumLab | undefined;
  let appium: AppiumDevice | undefined;
  try {
    lab = await startAppiumLab({ phones: [{ abi: 'x86_64', model: 'Bench Phone' }], allowShell: true });
    const [phone] = lab.phones;
    if (phone === undefined) throw new Error('the bench lab started no phone');
    const adb = lab.adb.device(phone, '/data/local/tmp/prunelab-bench-adb');
    const connectStarted = performance.now();
    appium = await connectAppiumDevice({
      entry: lab.entry(phone, { workDir: '/data/local/tmp/prunelab-bench-appium' }),
      index: 0,
    });
    const connectMs = performance.now() - connectStarted;

    const trips = quick ? 5 : 15;
    const adbTrips: number[] = [];
    const appiumTrips: number[] = [];
    for (let i = 0; i < trips; i++) {
      adbTrips.push(await roundTripMs(adb));
      appiumTrips.push(await roundTripMs(appium));
    }

    const cases = quick ? 20 : 40;
    const adbOverhead: number[] = [];
    const appiumOverhead: number[] = [];
    for (let repeat = 0; repeat < 3; repeat++) {
      for (const [device, into] of [
        [adb, adbOverhead],
        [appium, appiumOverhead],
      ] as const) {
        const { wallMs, agentMs } = await idleSweep(store, [device], cases, 1_000, 20);
        into.push((wallMs - agentMs) / cases);
      }
    }

    const result = {
      note: 'one virtual phone on this host: transport plumbing, not phone latencies; medians',
      connectMs,
      roundTrip: {
        runs: trips,
        adbMs: medianOf(adbTrips),
        appiumMs: medianOf(appiumTrips),
        ratio: medianOf(appiumTrips) / medianOf(adbTrips),
      },
      idleSweep: {
        cases,
        batchCases: 20,
        adbOverheadMsPerCase: medianOf(adbOverhead),
        appiumOverheadMsPerCase: medianOf(appiumOverhead),
        ratio: medianOf(appiumOverhead) / medianOf(adbOverhead),
        runs: { adb: adbOverhead, appium: appiumOverhead },
      },
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const { roundTrip, idleSweep: idle } = result;
    const lines = [
      'bench:appium (one virtual phone on this host: plumbing, not phone latencies; medians, side by side)',
      `session start (connect, shell check, identity): ${connectMs.toFixed(0)} ms`,
      'measure                          adb          appium       appium / adb',
      `shell true round trip (${roundTrip.runs}x)`.padEnd(33) +
        `${roundTrip.adbMs.toFixed(1)} ms`.padEnd(13) +
        `${roundTrip.appiumMs.toFixed(1)} ms`.padEnd(13) +
        `${roundTrip.ratio.toFixed(2)}x`,
      `idle sweep overhead per case (${idle.cases} cases, batches of ${idle.batchCases})`,
      ''.padEnd(33) +
        `${idle.adbOverheadMsPerCase.toFixed(2)} ms`.padEnd(13) +
        `${idle.appiumOverheadMsPerCase.toFixed(2)} ms`.padEnd(13) +
        `${idle.ratio.toFixed(2)}x`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await appium?.close();
    await store.close();
    await lab?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
