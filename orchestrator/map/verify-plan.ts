/**
 * What `--verify-on` runs, as plan lines (pure): three networks timed end to end by the agent's network op
 * (the mapping, all dense, the best uniform baseline), then the mapped layers again one case each (the
 * per-layer breakdown). Every line names the same weights: the model's own (a blob on the device) for an
 * ONNX model, the seeded ones for a built-in table.
 *
 * Chaining: a layer reads the previous layer's output in place only when the ONNX graph feeds it from that
 * layer (OnnxLayer.inputFrom, through weightless nodes) and the sizes agree; otherwise it reads its own input.
 * A built-in table has no graph, so its layers read their own inputs.
 */
import type {
  ConvPlanLine,
  FcPlanLine,
  NetworkLayerLine,
  NetworkPlanLine,
  PlanLine,
  SamplingFields,
  WeightsRef,
} from '../../config/agent-protocol.ts';
import { outputHeight, outputWidth } from '../../config/shape.ts';
import type { MeasurementPolicy } from '../../config/types.ts';
import type { Backend, Scheme } from '../../config/vocabulary.ts';
import { baselineSpecs } from '../../cost-model/index.ts';
import { toPlanLine } from '../plan/plan-line.ts';
import type { MapResult } from './compute.ts';

/** One layer of a network to time: its shape and pruning choice. */
export interface VerifyChoice {
  readonly name: string;
  readonly shape: MapResult['layers'][number]['shape'];
  readonly scheme: Scheme;
  readonly block: string | null;
  readonly sparsity: number;
}

export interface NetworkVariant {
  /** Plan line id: `net-mapped`, `net-dense`, `net-uniform`. */
  readonly id: string;
  readonly label: string;
  /** The LUT's prediction for the whole variant (sum over layers). */
  readonly predictedNs: number;
  readonly layers: readonly VerifyChoice[];
}

export interface VerifyPlanOptions {
  readonly seed: number;
  readonly threads: number;
  readonly backend: Backend;
  readonly measurement: MeasurementPolicy;
}

function outputFloats(shape: VerifyChoice['shape']): number {
  return shape.op === 'fc' ? shape.cout : shape.cout * outputHeight(shape) * outputWidth(shape);
}

function inputFloats(shape: VerifyChoice['shape']): number {
  return shape.op === 'fc' ? shape.cin : shape.cin * shape.h * shape.w;
}

/**
 * Per layer: does it read the previous layer's output? Only when `inputFrom` (the ONNX graph) names the layer
 * before it in this list and that layer's output has exactly this layer's input size.
 */
export function chainFlags(
  layers: readonly { readonly name: string; readonly shape: VerifyChoice['shape'] }[],
  inputFrom: ReadonlyMap<string, string | null>,
): boolean[] {
  return layers.map((layer, i) => {
    const previous = layers[i - 1];
    return (
      previous !== undefined &&
      inputFrom.get(layer.name) === previous.name &&
      outputFloats(previous.shape) === inputFloats(layer.shape)
    );
  });
}

/** The mapped network, all dense, and the best uniform baseline (when the LUT reached one), in that order. */
export function networkVariants(result: MapResult): NetworkVariant[] {
  const mapped: NetworkVariant = {
    id: 'net-mapped',
    label: `mapping (${result.mapper})`,
    predictedNs: result.totals.latencyNs,
    layers: result.layers,
  };
  const denseBaseline = result.baselines.find((b) => b.name === 'all dense');
  const dense: NetworkVariant = {
    id: 'net-dense',
    label: 'all dense',
    predictedNs: denseBaseline?.latencyNs ?? Number.NaN,
    layers: result.layers.map((l) => ({ ...l, scheme: 'dense', block: null, sparsity: 0 })),
  };
  const variants = [mapped, dense];
  const best = result.bestBaseline;
  const baseline = best === null ? undefined : result.baselines.find((b) => b.name === best.name);
  const spec = baselineSpecs(result.settings.blocks).find((s) => s.name === best?.name);
  if (best !== null && baseline?.sparsity != null && spec !== undefined) {
    const sparsity = baseline.sparsity;
    variants.push({
      id: 'net-uniform',
      label: `${best.name} at sparsity ${sparsity.toFixed(3)}`,
      predictedNs: best.latencyNs,
      // As the baseline prices it (cost-model uniformPoints): a layer the scheme cannot run stays dense.
      layers: result.layers.map((l, i) => {
        const runs = result.candidates[i]?.options.some(
          (o) => o.scheme === spec.scheme && o.block === spec.block,
        );
        return runs
          ? { ...l, scheme: spec.scheme as Scheme, block: spec.block, sparsity }
          : { ...l, scheme: 'dense', block: null, sparsity: 0 };
      }),
    });
  }
  return variants;
}

function sampling(measurement: MeasurementPolicy): SamplingFields {
  return {
    warmup: measurement.warmup,
    minReps: measurement.minReps,
    minTimeMs: measurement.minTimeMs,
    maxReps: measurement.maxReps,
    maxTimeMs: measurement.maxTimeMs,
  };
}

/** A layer's case line (toPlanLine, the sweep's own) with the real weights when there are any. */
function caseLine(
  choice: VerifyChoice,
  id: string,
  options: VerifyPlanOptions,
  weights?: WeightsRef,
): ConvPlanLine | FcPlanLine {
  const line = toPlanLine(
    {
      key: choice.name,
      shape: choice.shape,
      scheme: choice.scheme,
      block: choice.block ?? undefined,
      sparsity: choice.sparsity,
      threads: options.threads,
      backend: options.backend,
      seed: options.seed,
      measurement: options.measurement,
      layers: [choice.name],
    },
    id,
  ) as ConvPlanLine | FcPlanLine; // never idle: a layer has a shape
  return weights === undefined ? line : { ...line, weights };
}

/** The layer fields of a case line (op, shape, pruning, weights): what a network's layer entry repeats. */
function layerEntry(line: ConvPlanLine | FcPlanLine, input: 'own' | 'previous'): NetworkLayerLine {
  const pruning = {
    scheme: line.scheme,
    sparsity: line.sparsity,
    ...(line.block === undefined ? {} : { block: line.block }),
    ...(line.weights === undefined ? {} : { weights: line.weights }),
    input,
  };
  if (line.op === 'fc') return { op: 'fc', in: line.in, out: line.out, ...pruning };
  const { op, cin, cout, h, w, k, stride, pad } = line;
  return { op, cin, cout, h, w, k, stride, pad, ...pruning };
}

export function networkLine(
  variant: NetworkVariant,
  chain: readonly boolean[],
  options: VerifyPlanOptions,
  weightsOf: (name: string) => WeightsRef | undefined,
): NetworkPlanLine {
  return {
    id: variant.id,
    op: 'network',
    layers: variant.layers.map((choice, i) =>
      layerEntry(
        caseLine(choice, 'layer', options, weightsOf(choice.name)),
        chain[i] === true ? 'previous' : 'own',
      ),
    ),
    threads: options.threads,
    seed: options.seed,
    ...sampling(options.measurement),
  };
}

/**
 * The whole plan: the network lines (CPU only: the agent's network op has no GPU backend, so a GPU LUT is
 * verified layer by layer only), then one case per mapped layer, ids `l0`, `l1`, ... in model order.
 */
export function verifyPlanLines(
  variants: readonly NetworkVariant[],
  chain: readonly boolean[],
  options: VerifyPlanOptions,
  weightsOf: (name: string) => WeightsRef | undefined,
): (PlanLine | NetworkPlanLine)[] {
  const networks =
    options.backend === 'cpu' ? variants.map((v) => networkLine(v, chain, options, weightsOf)) : [];
  const mapped = variants[0];
  const isolated = (mapped?.layers ?? []).map((choice, i) =>
    caseLine(choice, `l${i}`, options, weightsOf(choice.name)),
  );
  return [...networks, ...isolated];
}
