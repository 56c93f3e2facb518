/**
 * `--verify-on DEVICE`: the mapped layers run back to back in ONE agent call (one plan, one case per layer,
 * in model order), and the sum of the measured medians is set against the sum of the LUT's predictions.
 * Each case is timed by the agent as in a sweep (warm-up, repetitions), so "measured total" is the same
 * quantity the LUT predicts: the sum of per-layer medians, not one end-to-end inference.
 * The agent builds its own seeded weights: for an ONNX model the masks differ from the real weights' masks
 * but have the same density and unit counts, which is what the kernels' time depends on.
 */
import { posix } from 'node:path';
import type { OkResultLine } from '../../config/agent-protocol.ts';
import type { MeasurementPolicy } from '../../config/types.ts';
import type { Backend } from '../../config/vocabulary.ts';
import { parseAgentOutputLine } from '../agent/parse-output.ts';
import type { AgentBuild } from '../build/agent-build.ts';
import { toPlanLine } from '../plan/plan-line.ts';
import { summarizeResult } from '../scheduler/measurement.ts';
import type { Device } from '../transport/port.ts';
import type { MappedLayer } from './compute.ts';
import { VerifyError } from './errors.ts';

export interface VerifiedLayer {
  readonly name: string;
  readonly predictedNs: number;
  readonly measuredNs: number;
  readonly density: number;
  readonly kernel: string;
}

export interface VerifyReport {
  readonly device: string;
  readonly agentHash: string;
  readonly layers: readonly VerifiedLayer[];
  readonly predictedTotalNs: number;
  readonly measuredTotalNs: number;
  /** (predicted - measured) / measured. */
  readonly relativeError: number;
  readonly wallMs: number;
}

export interface VerifyOptions {
  readonly seed: number;
  readonly threads: number;
  /** The backend the LUT was measured on: the layers are verified on the same one. */
  readonly backend: Backend;
  readonly measurement: MeasurementPolicy;
  /** Longest the whole call may take. */
  readonly timeoutMs: number;
}

/** The plan text: one line per mapped layer, ids `l0`, `l1`, ... in model order. */
export function verifyPlan(layers: readonly MappedLayer[], options: VerifyOptions): string {
  return layers
    .map((layer, i) => {
      const line = toPlanLine(
        {
          key: layer.name,
          shape: layer.shape,
          scheme: layer.scheme,
          block: layer.block ?? undefined,
          sparsity: layer.sparsity,
          threads: options.threads,
          backend: options.backend,
          seed: options.seed,
          measurement: options.measurement,
          layers: [layer.name],
        },
        `l${i}`,
      );
      return `${JSON.stringify(line)}\n`;
    })
    .join('');
}

export async function verifyOnDevice(
  device: Device,
  build: AgentBuild,
  layers: readonly MappedLayer[],
  options: VerifyOptions,
): Promise<VerifyReport> {
  const started = performance.now();
  const deviceId = device.identity.id;
  const info = await device.info();
  const agentPath = posix.join(info.workDir, `prunelab-agent-${build.hash}`);
  await device.push(build.binaryPath, agentPath, { mode: 0o755 });
  const shell = await device.shell([agentPath, 'run'], {
    timeoutMs: options.timeoutMs,
    stdin: verifyPlan(layers, options),
  });
  if (shell.timedOut || shell.exitCode !== 0) {
    throw new VerifyError(
      `--verify-on ${deviceId}: the agent ${shell.timedOut ? `did not finish within ${options.timeoutMs} ms` : `exited with ${shell.exitCode ?? shell.signal}`}` +
        ` while running the ${layers.length} mapped layers; stderr: ${shell.stderr.trim().slice(-300) || '(empty)'}`,
      { device: deviceId, exitCode: shell.exitCode, timedOut: shell.timedOut },
    );
  }
  const results = new Map<string, OkResultLine>();
  const errors: string[] = [];
  for (const text of shell.stdout.split('\n')) {
    if (text.trim() === '') continue;
    const parsed = parseAgentOutputLine(text);
    if (!parsed.ok) {
      throw new VerifyError(
        `--verify-on ${deviceId}: the agent printed a line that is not protocol output: ${parsed.error.message}`,
        {
          device: deviceId,
        },
      );
    }
    const value = parsed.value;
    if (value.type === 'done') continue;
    if (value.status === 'ok') results.set(value.id, value);
    else errors.push(`${value.id}: ${value.error}`);
  }
  if (errors.length > 0 || results.size !== layers.length) {
    throw new VerifyError(
      `--verify-on ${deviceId}: ${layers.length - results.size} of ${layers.length} mapped layers did not run: ` +
        `${errors.slice(0, 3).join('; ') || 'missing results'}`,
      { device: deviceId, errors },
    );
  }
  const verified = layers.map((layer, i): VerifiedLayer => {
    const result = results.get(`l${i}`) as OkResultLine;
    const summary = summarizeResult(result);
    if (typeof summary === 'string') {
      throw new VerifyError(`--verify-on ${deviceId}: layer ${layer.name}: ${summary}`, { device: deviceId });
    }
    return {
      name: layer.name,
      predictedNs: layer.latencyNs,
      measuredNs: summary.median,
      density: result.density,
      kernel: result.kernel,
    };
  });
  const predictedTotalNs = verified.reduce((s, l) => s + l.predictedNs, 0);
  const measuredTotalNs = verified.reduce((s, l) => s + l.measuredNs, 0);
  return {
    device: deviceId,
    agentHash: build.hash,
    layers: verified,
    predictedTotalNs,
    measuredTotalNs,
    relativeError: (predictedTotalNs - measuredTotalNs) / measuredTotalNs,
    wallMs: performance.now() - started,
  };
}
