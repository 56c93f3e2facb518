/**
 * `npm run bench:accuracy`: what measured accuracy costs on this machine, on the digits fixture
 * (orchestrator/fixtures/: a CNN trained with numpy on Debian's sklearn digits, cached after the first run).
 *
 *  1. evaluation throughput: images per second through `prunelab evaluate`'s path (runEvaluate: the dense model
 *     and a candidate, batch by batch, metrics included) at 1 and 2 ONNX Runtime threads, against ONNX Runtime's
 *     own dense run of the same model on the same data (one InferenceSession from onnxruntime-node, the same
 *     batches, nothing else), the median of `--repeats` runs each;
 *  2. sensitivity wall time per candidate: `prunelab sensitivity`'s use case on a fresh cache with 1 and 2
 *     workers (29 candidates: unstructured, filter, bcr 2x1, pattern at 0.5/0.75/0.9).
 *  3. the measured table (accuracy-table.ts): the mapping against every uniform baseline at equal measured drop,
 *     predicted and measured latency, the margin over the best baseline (`--table-only` runs this one alone).
 * Each section is one function that returns its figures; main() prints them (text, or --json).
 * A benchmark, not a test: figures move with whatever else runs here (it prints the CPU count and load average).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import ort from 'onnxruntime-node';
import { readEvalData } from '../evaluate/data.ts';
import { runEvaluate } from '../evaluate/run-evaluate.ts';
import { type DigitsFixture, digitsFixture } from '../fixtures/digits.ts';
import { float32Npy, int64Npy } from '../fixtures/label-free.ts';
import { encodeNpz } from '../numpy/npz.ts';
import { runSensitivity } from '../sensitivity/run-sensitivity.ts';
import { medianOf } from '../stats/index.ts';
import { measuredTableBench, printTableBench } from './accuracy-table.ts';

const { values: options } = parseArgs({
  options: {
    out: { type: 'string', default: 'test-artifacts/bench-accuracy' },
    repeats: { type: 'string', default: '5' },
    tile: { type: 'string', default: '8' },
    batch: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
    'table-only': { type: 'boolean', default: false },
  },
});
const outDir = resolve(options.out);
const repeats = Number(options.repeats);
const batchSize = Number(options.batch);

/** The held-out split repeated `tile` times, so a timed pass lasts long enough to read (labels kept). */
async function benchData(fixture: DigitsFixture, tile: number): Promise<{ path: string; images: number }> {
  const data = await readEvalData(fixture.testDataPath);
  const inputs = new Float32Array(data.inputs.length * tile);
  const labels: number[] = [];
  for (let t = 0; t < tile; t++) {
    inputs.set(data.inputs, t * data.inputs.length);
    labels.push(...(data.labels ?? []));
  }
  const path = join(outDir, `digits-x${tile}.npz`);
  writeFileSync(
    path,
    encodeNpz(
      new Map([
        ['inputs', float32Npy(inputs, [data.count * tile, ...data.sampleDims])],
        ['labels', int64Npy(labels)],
      ]),
    ),
  );
  return { path, images: data.count * tile };
}

/** ONNX Runtime alone: one session, the same batches, timed from the first run to the last output. */
async function ortDenseImagesPerSecond(
  modelPath: string,
  dataPath: string,
  threads: number,
): Promise<number> {
  const data = await readEvalData(dataPath);
  const session = await ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const sampleSize = data.sampleDims.reduce((p, d) => p * d, 1);
  const inputName = session.inputNames[0] as string;
  const started = performance.now();
  for (let at = 0; at < data.count; at += batchSize) {
    const batch = Math.min(batchSize, data.count - at);
    const input = data.inputs.subarray(at * sampleSize, (at + batch) * sampleSize);
    await session.run({ [inputName]: new ort.Tensor('float32', input, [batch, ...data.sampleDims]) });
  }
  const seconds = (performance.now() - started) / 1000;
  await session.release();
  return data.count / seconds;
}

export interface ThroughputRow {
  readonly threads: number;
  /** Images through one model per second on evaluate's path (it runs two models: 2 x samples / s). */
  readonly evaluateImagesPerSecond: number;
  readonly ortImagesPerSecond: number;
  /** evaluate's per-image cost over ORT's own: 1 = no overhead. */
  readonly overhead: number;
}

/** Section 1: evaluate's path against ONNX Runtime's own dense run, at 1 and 2 threads. */
export async function evaluationThroughput(
  fixture: DigitsFixture,
  dataPath: string,
): Promise<ThroughputRow[]> {
  const rows: ThroughputRow[] = [];
  for (const threads of [1, 2]) {
    const evaluate: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r < repeats; r++) {
      // Alternate the two so drift in the machine's load hits both alike.
      const report = await runEvaluate({
        modelPath: fixture.modelPath,
        prunedPath: fixture.modelPath,
        dataPath,
        batchSize,
        threads,
      });
      evaluate.push(2 * report.samplesPerSecond);
      raw.push(await ortDenseImagesPerSecond(fixture.modelPath, dataPath, threads));
    }
    const evaluateImagesPerSecond = medianOf(evaluate);
    const ortImagesPerSecond = medianOf(raw);
    rows.push({
      threads,
      evaluateImagesPerSecond,
      ortImagesPerSecond,
      overhead: ortImagesPerSecond / evaluateImagesPerSecond,
    });
  }
  return rows;
}

export interface SensitivityRow {
  readonly workers: number;
  readonly candidates: number;
  readonly wallMs: number;
  readonly wallPerCandidateMs: number | null;
  readonly perCandidateMs: number | null;
  readonly poolStartMs: number;
  readonly denseMs: number;
}

/** Section 2: sensitivity on a fresh cache, 1 and 2 workers of one ORT thread each. */
export async function sensitivityTiming(fixture: DigitsFixture): Promise<SensitivityRow[]> {
  const rows: SensitivityRow[] = [];
  for (const workers of [1, 2]) {
    const cacheDir = join(outDir, `sensitivity-cache-w${workers}`);
    rmSync(cacheDir, { recursive: true, force: true });
    const { file } = await runSensitivity({
      modelPath: fixture.modelPath,
      dataPath: fixture.testDataPath,
      outPath: join(outDir, `sensitivity-w${workers}.json`),
      cacheDir,
      lutThreads: 1,
      schemes: ['unstructured', 'filter', 'bcr', 'pattern'],
      blocks: ['2x1'],
      sparsities: [0.5, 0.75, 0.9],
      batchSize,
      threads: 1,
      workers,
    });
    rows.push({
      workers,
      candidates: file.timing.measured,
      wallMs: file.timing.wallMs,
      wallPerCandidateMs: file.timing.wallPerMeasuredMs,
      perCandidateMs: file.timing.perCandidateMs,
      poolStartMs: file.timing.poolStartMs,
      denseMs: file.timing.denseMs,
    });
  }
  return rows;
}

function printText(
  fixture: DigitsFixture,
  images: number,
  throughput: readonly ThroughputRow[],
  sensitivity: readonly SensitivityRow[],
): void {
  console.log(
    `digits fixture: ${fixture.training.params} parameters, test accuracy ${(fixture.training.accuracy.test * 100).toFixed(2)}% ` +
      `(${fixture.training.samples.test} images); ${os.availableParallelism()} CPUs, load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  console.log(`\nevaluation throughput, ${images} images, batch ${batchSize}, median of ${repeats} runs`);
  console.log('threads  evaluate (img/s)  ONNX Runtime alone (img/s)  evaluate per image / ORT per image');
  for (const r of throughput)
    console.log(
      `${String(r.threads).padStart(7)}  ${r.evaluateImagesPerSecond.toFixed(0).padStart(16)}  ${r.ortImagesPerSecond.toFixed(0).padStart(26)}  ${r.overhead.toFixed(2).padStart(6)}x`,
    );
  console.log(`\nsensitivity, ${fixture.training.samples.test} images per candidate, fresh cache`);
  console.log(
    'workers  candidates  wall (s)  wall per candidate (ms)  one candidate in one worker (ms)  starting workers (ms)  dense pass (ms)',
  );
  for (const r of sensitivity)
    console.log(
      `${String(r.workers).padStart(7)}  ${String(r.candidates).padStart(10)}  ${(r.wallMs / 1000).toFixed(2).padStart(8)}  ${(r.wallPerCandidateMs ?? 0).toFixed(1).padStart(23)}  ${(r.perCandidateMs ?? 0).toFixed(1).padStart(32)}  ${r.poolStartMs.toFixed(0).padStart(21)}  ${r.denseMs.toFixed(1).padStart(15)}`,
    );
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const fixture = await digitsFixture();
  if (options['table-only']) {
    const table = await measuredTableBench(fixture, outDir);
    if (options.json) console.log(JSON.stringify({ fixture, table }, null, 2));
    else printTableBench(table);
    return;
  }
  const data = await benchData(fixture, Number(options.tile));
  const throughput = await evaluationThroughput(fixture, data.path);
  const sensitivity = await sensitivityTiming(fixture);
  const table = await measuredTableBench(fixture, outDir);
  if (options.json)
    console.log(JSON.stringify({ fixture, images: data.images, throughput, sensitivity, table }, null, 2));
  else {
    printText(fixture, data.images, throughput, sensitivity);
    printTableBench(table);
  }
}

await main();
