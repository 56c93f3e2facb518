/**
 * zod schemas of the agent's output lines, checked against the protocol types of config/agent-protocol.ts
 * (each schema is annotated with the type it must produce, so the two cannot drift apart silently).
 * Unknown fields are dropped: the agent may add fields before the orchestrator reads them.
 */
import { z } from 'zod';
import type {
  AgentGpuInfo,
  AgentInfo,
  DoneLine,
  ErrorResultLine,
  GpuCaseInfo,
  NetworkLayerResult,
  NetworkResultLine,
  OkResultLine,
  SamplingFields,
  TelemetrySnapshot,
} from '../../config/agent-protocol.ts';
import { BACKENDS, DTYPES, OPS, SCHEMES } from '../../config/vocabulary.ts';

const count = z.number().int().nonnegative();
/** Samples are integers of nanoseconds; beyond 2^53 a double no longer holds them exactly. */
const nanoseconds = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** A ratio of sums computed in floating point can land an ulp above 1 (dense: kept == all). */
const fraction = z
  .number()
  .min(0)
  .max(1 + 1e-9);

const readings = z.record(z.string(), z.number().nullable());

const telemetrySnapshot: z.ZodType<TelemetrySnapshot> = z.object({
  timeNs: nanoseconds,
  thermalMilliC: readings,
  cpuFreqKhz: readings,
});

const sampling: z.ZodType<Required<SamplingFields>> = z.object({
  warmup: count,
  minReps: z.number().int().positive(),
  minTimeMs: z.number().nonnegative(),
  maxReps: z.number().int().positive(),
  maxTimeMs: z.number().positive(),
  ciRelWidth: z.number().nonnegative(),
});

const gpuCase: z.ZodType<GpuCaseInfo> = z.object({
  platform: z.string(),
  device: z.string(),
  driver: z.string(),
  openclLibrary: z.string(),
  programFrom: z.enum(['source', 'binary-cache']),
  compileNs: nanoseconds,
  cacheNote: z.string().nullable(),
});

/** `seeded`, or the sha256 (64 lowercase hex) of the weights file a case read. */
const weightsSource = z.union([z.literal('seeded'), z.string().regex(/^[0-9a-f]{64}$/)]);

export const okResultSchema: z.ZodType<OkResultLine> = z.object({
  type: z.literal('result'),
  id: z.string().min(1),
  status: z.literal('ok'),
  op: z.enum(OPS),
  samplesNs: z.array(nanoseconds).min(1),
  density: fraction,
  keptBlocks: count,
  keptEnergy: fraction,
  maskFnv1a: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .exactOptional(),
  flops: z.number().nonnegative(),
  kernel: z.string(),
  cpus: z.array(count),
  telemetry: z.object({ before: telemetrySnapshot, after: telemetrySnapshot }),
  line: z.number().int().positive().exactOptional(),
  scheme: z.enum(SCHEMES).nullable().exactOptional(),
  block: z.string().nullable().exactOptional(),
  sparsity: z.number().min(0).max(1).exactOptional(),
  seed: count.exactOptional(),
  durationUs: count.exactOptional(),
  threads: z.number().int().positive().exactOptional(),
  reps: count.exactOptional(),
  prepareNs: count.exactOptional(),
  samplingNs: count.exactOptional(),
  probeNs: z.tuple([count, count]).exactOptional(),
  stop: z.enum(['minReached', 'ci', 'maxReps', 'maxTime']).exactOptional(),
  medianCiRelWidth: z.number().nonnegative().nullable().exactOptional(),
  sampling: sampling.exactOptional(),
  backend: z.enum(BACKENDS).exactOptional(),
  dtype: z.enum(DTYPES).exactOptional(),
  kernelNs: z.array(nanoseconds).exactOptional(),
  gpu: gpuCase.exactOptional(),
  weights: weightsSource.exactOptional(),
});

const networkLayer: z.ZodType<NetworkLayerResult> = z.object({
  index: count,
  op: z.enum(['conv', 'dwconv', 'fc']),
  input: z.enum(['own', 'previous']),
  scheme: z.enum(SCHEMES),
  block: z.string().nullable(),
  sparsity: z.number().min(0).max(1),
  seed: count,
  weights: weightsSource,
  density: fraction,
  keptBlocks: count,
  keptEnergy: fraction,
  maskFnv1a: z.string().regex(/^[0-9a-f]{16}$/),
  flops: z.number().nonnegative(),
  kernel: z.string(),
});

export const networkResultSchema: z.ZodType<NetworkResultLine> = z.object({
  type: z.literal('result'),
  id: z.string().min(1),
  line: z.number().int().positive(),
  status: z.literal('ok'),
  op: z.literal('network'),
  layers: z.array(networkLayer).min(1),
  notRun: z.string(),
  flops: z.number().nonnegative(),
  backend: z.literal('cpu'),
  threads: z.number().int().positive(),
  cpus: z.array(count),
  reps: count,
  prepareNs: count,
  samplingNs: count,
  probeNs: z.tuple([count, count]),
  stop: z.enum(['minReached', 'ci', 'maxReps', 'maxTime']),
  medianCiRelWidth: z.number().nonnegative().nullable(),
  sampling,
  medianNs: z.number().nonnegative(),
  samplesNs: z.array(nanoseconds).min(1),
  telemetry: z.object({ before: telemetrySnapshot, after: telemetrySnapshot }),
});

export const errorResultSchema: z.ZodType<ErrorResultLine> = z.object({
  type: z.literal('result'),
  id: z.string().min(1),
  status: z.literal('error'),
  error: z.string(),
  line: z.number().int().positive().exactOptional(),
});

export const doneSchema: z.ZodType<DoneLine> = z
  .object({ type: z.literal('done'), cases: count, ok: count, errors: count })
  .refine((done) => done.ok + done.errors === done.cases, {
    message: 'expected ok + errors to equal cases',
  });

const cpu = z.object({
  id: count,
  online: z.boolean().nullable(),
  maxFreqKhz: count.nullable(),
  capacity: count.nullable(),
  cluster: count,
});

const cluster = z.object({
  index: count,
  role: z.enum(['big', 'mid', 'little']),
  maxFreqKhz: count.nullable(),
  cpus: z.array(count),
});

const gpuInfo: z.ZodType<AgentGpuInfo> = z.object({
  openclLibrary: z.string().nullable(),
  error: z.string().nullable(),
  platforms: z.array(
    z.object({
      name: z.string(),
      vendor: z.string(),
      version: z.string(),
      devices: z.array(
        z.object({
          name: z.string(),
          vendor: z.string(),
          driver: z.string(),
          version: z.string(),
          type: z.enum(['gpu', 'cpu', 'other']),
          computeUnits: count,
          maxWorkGroupSize: count,
          localMemBytes: count,
          globalMemBytes: count,
          maxAllocBytes: count,
          fp16: z.boolean(),
          extensions: z.array(z.string()),
        }),
      ),
    }),
  ),
});

export const infoSchema: z.ZodType<AgentInfo> = z.object({
  type: z.literal('info'),
  protocolVersion: z.number().int().positive(),
  abi: z.string().min(1),
  arch: z.string().min(1),
  buildHash: z.string().min(1),
  compiler: z.string(),
  cflags: z.string(),
  sysfsRoot: z.string(),
  cpus: z.array(cpu),
  clusters: z.array(cluster),
  bigCluster: count.nullable(),
  simd: z.record(z.string(), z.boolean()),
  simdCompiled: z.array(z.string()),
  clockResolutionNs: count.nullable(),
  clockOverheadNs: count,
  pageSizeBytes: z.number().int().positive(),
  onlineCpuCount: z.number().int().positive(),
  affinity: z.array(count),
  cpuModel: z.string().nullable(),
  uname: z.object({ sysname: z.string(), release: z.string(), machine: z.string() }).nullable(),
  gpu: gpuInfo.exactOptional(),
});
