/**
 * The map use case: read (the LUT file, the model) -> compute (compute.ts, pure) -> write (mapping.json),
 * then optionally evaluate the written mapping with the user's command and verify it on a device, and write
 * the file again with what they found. The CLI parses the flags into a `MapRequest` and prints the outcome.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { DEFAULT_MEASUREMENT } from '../../config/defaults.ts';
import type { Backend, Scheme } from '../../config/vocabulary.ts';
import type { Lut, MapperEvent } from '../../cost-model/index.ts';
import { parseLutText } from '../../cost-model/index.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { UsageError } from '../errors.ts';
import { type LoadedModel, loadModel } from '../models/load-model.ts';
import type { Device } from '../transport/port.ts';
import { computeMapping, type MapResult } from './compute.ts';
import { evaluateMapping, hookFiles } from './evaluate.ts';
import {
  type MappingContext,
  mappingJson,
  mappingText,
  measuredTableText,
  verificationText,
} from './mapping-file.ts';
import { measuredTable } from './measured-table.ts';
import { readSensitivity } from './sensitivity-file.ts';
import { measureLayersOnDevice, type VerifyOptions, verifyOnDevice } from './verify.ts';

export interface MapRequest {
  readonly lutPath: string;
  /** A built-in model name or an .onnx file. */
  readonly model: string;
  readonly mapper: 'rule' | 'search';
  readonly latencyBudgetMs?: number;
  readonly sparsity?: number;
  /** --max-accuracy-drop (with --sensitivity): fastest mapping whose summed measured drop is <= this. */
  readonly maxAccuracyDrop?: number;
  /** --sensitivity: a prunelab.sensitivity/v1 file for this ONNX model. */
  readonly sensitivityPath?: string;
  readonly outPath: string;
  readonly threads: number;
  readonly seed: number;
  /** --backend: the backend the LUT must have been measured on (undefined: whichever it was). */
  readonly backend?: Backend;
  readonly schemes?: readonly Scheme[];
  readonly blocks?: readonly string[];
  readonly sparsities?: readonly number[];
  /** Rule mapper: latency tolerance from the fastest option, for every layer kind. */
  readonly tolerance: number;
  /** Search mapper: steps of the exact knapsack DP. */
  readonly resolution: number;
  /** Command that gets the mapping file and prints {"accuracy": x} (--evaluate). */
  readonly evaluate?: string;
  /** Device id or kind to run the mapped layers on (--verify-on). */
  readonly verifyOn?: string;
  /** --evaluate-with: data to measure the mapping and the uniform baselines on (the measured table). */
  readonly evaluateWith?: string;
}

export interface MapDeps {
  readonly progress: (event: MapperEvent) => void;
  /** Progress lines for people (stderr). */
  readonly note: (text: string) => void;
  /** The device `--verify-on` names (undefined: none). */
  readonly findDevice: (selector: string) => Promise<Device | undefined>;
  readonly buildAgent: (abi: string) => Promise<AgentBuild>;
}

type MappingExtra = NonNullable<Parameters<typeof mappingJson>[2]>;

/** The --verify-on device and its agent build, found once for the mapping and the table's rows. */
interface VerifyTarget {
  readonly device: Device;
  readonly build: AgentBuild;
  readonly options: VerifyOptions;
}

export interface MapOutcome {
  /** What was written to `outPath` last. */
  readonly json: ReturnType<typeof mappingJson>;
  /** The mapping for people, with the evaluation and verification when there were any. */
  readonly text: string;
}

export async function readLut(lutPath: string): Promise<Lut> {
  let lutText: string;
  try {
    lutText = await readFile(lutPath, 'utf8');
  } catch (error) {
    throw new UsageError(
      `--lut: cannot read ${resolve(lutPath)} (${(error as Error).message}); expected a file written by \`prunelab fit\``,
      { option: '--lut' },
      { cause: error },
    );
  }
  return parseLutText(lutText, lutPath);
}

async function verifyTarget(
  deps: MapDeps,
  request: MapRequest,
  backend: Backend,
): Promise<VerifyTarget | undefined> {
  if (request.verifyOn === undefined) return undefined;
  const device = await deps.findDevice(request.verifyOn);
  if (device === undefined)
    throw new UsageError(`--verify-on: no device ${request.verifyOn}`, { option: '--verify-on' });
  const build = await deps.buildAgent(device.identity.abi);
  const options: VerifyOptions = {
    seed: request.seed,
    threads: request.threads,
    backend,
    measurement: DEFAULT_MEASUREMENT,
    timeoutMs: 30 * 60 * 1000,
  };
  return { device, build, options };
}

/** --evaluate, --verify-on and --evaluate-with, on the mapping already written. */
async function checkMapping(
  deps: MapDeps,
  request: MapRequest,
  result: MapResult,
  model: LoadedModel,
  target: VerifyTarget | undefined,
  sensitivityDataSha256: string | undefined,
): Promise<MappingExtra> {
  const extra: MappingExtra = {};
  if (request.evaluate !== undefined) {
    const cachePath = join(dirname(resolve(request.outPath)), '.prunelab-evaluate-cache.json');
    // An ONNX model: the mapping applied to it, for the command to fine-tune or evaluate (hookFiles).
    const env = await hookFiles({ path: request.model, source: model.source }, request.outPath);
    extra.evaluation = await evaluateMapping(
      request.evaluate,
      resolve(request.outPath),
      result.choiceHash,
      cachePath,
      undefined,
      env,
    );
  }
  if (target !== undefined) {
    deps.note(
      `map: verifying on ${target.device.identity.id}: the mapped, dense and best uniform networks end to end, ` +
        `then ${result.layers.length} layers one by one (one agent call)...\n`,
    );
    extra.verification = await verifyOnDevice(target.device, target.build, result, model, target.options);
  }
  if (request.evaluateWith !== undefined) {
    extra.measuredTable = await measuredTable({
      modelPath: request.model,
      dataPath: request.evaluateWith,
      result,
      model: { name: model.name, sha256: model.sha256 as string },
      ...(sensitivityDataSha256 === undefined ? {} : { sensitivityDataSha256 }),
      threads: 1,
      note: deps.note,
      ...(extra.verification === undefined ? {} : { mappingMeasuredNs: extra.verification.measuredTotalNs }),
      ...(target === undefined
        ? {}
        : {
            measureLatencyNs: async (layers) =>
              measureLayersOnDevice(target.device, target.build, layers, model, target.options),
          }),
    });
  }
  return extra;
}

/** The LUT's backend, checked against --backend: a CPU LUT says nothing about the GPU, and back. */
function backendOf(lut: Lut, request: MapRequest): Backend {
  const backend = lut.backend ?? 'cpu';
  if (request.backend !== undefined && request.backend !== backend) {
    throw new UsageError(
      `--backend ${request.backend}: ${request.lutPath} holds ${backend} latencies; pass the ${request.backend} LUT ` +
        `that \`prunelab fit\` wrote (lut-<device>${request.backend === 'gpu' ? '-gpu' : ''}.json, from a sweep with ` +
        `sweep.backends including ${request.backend})`,
      { option: '--backend' },
    );
  }
  return backend;
}

export async function runMap(deps: MapDeps, request: MapRequest): Promise<MapOutcome> {
  const lut = await readLut(request.lutPath);
  const backend = backendOf(lut, request);
  const model = await loadModel(request.model, request.seed);
  if (request.evaluateWith !== undefined && model.source !== 'onnx') {
    throw new UsageError(
      `--evaluate-with: --model ${request.model} is a built-in layer table with seeded weights, nothing ONNX ` +
        'Runtime can run; pass the trained model as --model model.onnx',
      { option: '--evaluate-with' },
    );
  }
  const sensitivity =
    request.sensitivityPath === undefined
      ? undefined
      : await readSensitivity(request.sensitivityPath, {
          path: request.model,
          sha256: model.sha256,
          layerNames: model.layers.map((l) => l.name),
        });
  const { tolerance } = request;
  const result = computeMapping({
    lut,
    modelName: model.name,
    layers: model.layers,
    mapper: request.mapper,
    threads: request.threads,
    seed: request.seed,
    tolerance: { conv3x3: tolerance, conv1x1: tolerance, fc: tolerance, other: tolerance },
    resolution: request.resolution,
    progress: deps.progress,
    ...(request.latencyBudgetMs === undefined ? {} : { latencyBudgetNs: request.latencyBudgetMs * 1e6 }),
    ...(request.sparsity === undefined ? {} : { sparsity: request.sparsity }),
    ...(request.maxAccuracyDrop === undefined ? {} : { maxAccuracyDrop: request.maxAccuracyDrop }),
    ...(sensitivity === undefined ? {} : { sensitivity: sensitivity.table }),
    ...(request.schemes === undefined ? {} : { schemes: request.schemes }),
    ...(request.blocks === undefined ? {} : { blocks: request.blocks }),
    ...(request.sparsities === undefined ? {} : { sparsities: request.sparsities }),
  });
  const mappingContext: MappingContext = {
    lutPath: request.lutPath,
    lut,
    model: {
      name: model.name,
      source: model.source,
      weightsFrom: model.weightsFrom,
      ...(model.sha256 === undefined ? {} : { sha256: model.sha256 }),
    },
    skippedNodes: model.skipped,
    createdAt: new Date().toISOString(),
    ...(sensitivity === undefined ? {} : { sensitivity: sensitivity.provenance }),
  };
  const write = async (extra: MappingExtra) => {
    const json = mappingJson(result, mappingContext, extra);
    await writeFile(request.outPath, `${JSON.stringify(json, null, 2)}\n`);
    return json;
  };
  // Written before the checks, so the evaluation command reads the mapping it judges.
  let json = await write({});
  const target = await verifyTarget(deps, request, backend);
  const extra = await checkMapping(deps, request, result, model, target, sensitivity?.provenance.data.sha256);
  if (Object.keys(extra).length > 0) json = await write(extra);
  const text = [mappingText(result, mappingContext, request.outPath)];
  if (extra.evaluation !== undefined) {
    text.push(
      `evaluated accuracy ${extra.evaluation.accuracy} by \`${extra.evaluation.command}\`${extra.evaluation.cached ? ' (cached)' : ''}`,
    );
  }
  if (extra.verification !== undefined) text.push(verificationText(extra.verification));
  if (extra.measuredTable !== undefined) text.push(measuredTableText(extra.measuredTable));
  return { json, text: text.join('\n') };
}
