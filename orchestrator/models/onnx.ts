/**
 * ONNX bytes -> the layers prunelab can time: Conv (dense or depthwise), Gemm and MatMul with weights from the
 * file's initializers, in the GEMM view (config/shape.ts): Conv weights [cout][cin][kh][kw] are already
 * row-major GEMM rows; Gemm/MatMul weights become [out][in].
 *
 * The protobuf decode is onnx-proto's generated code (ONNX 1.10 schema). Spatial sizes come from the graph:
 * value_info when the file has it (onnx.shape_inference.infer_shapes writes it), else a small propagation
 * through the ops that shape a CNN (conv, pooling, element-wise, flatten, reshape, concat). Batch dimensions
 * are taken as 1 (the agent times batch-1 inference).
 *
 * Weighted nodes the agent cannot time (grouped or dilated or non-square convs, ConvTranspose, recurrent and
 * quantised ops, a MatMul without a constant weight) are listed in `skipped` with the reason, never silently
 * dropped. A conv whose input size cannot be known is an error naming the node (and the node that lost it).
 */
import onnxProto from 'onnx-proto';
import { convShape, dwconvShape, fcShape } from '../../config/shape.ts';
import type { LayerShape } from '../../config/types.ts';
import { OnnxModelError } from './errors.ts';

const { onnx } = onnxProto;
type Node = InstanceType<typeof onnx.NodeProto>;
type Tensor = InstanceType<typeof onnx.TensorProto>;
type Graph = InstanceType<typeof onnx.GraphProto>;
type Int = number | { toNumber(): number };

export interface OnnxLayer {
  /** The weight initializer's name without `.weight` (torchvision's module path), else the node's name. */
  readonly name: string;
  readonly node: string;
  readonly opType: string;
  readonly shape: LayerShape;
  /** GEMM-view weights (gemmRows x gemmCols). */
  readonly weights: Float32Array;
  /** The weight initializer: its name and dims as stored in the file. */
  readonly weightName: string;
  readonly weightDims: readonly number[];
  /**
   * True when the stored weight is the transpose of the GEMM view ([in][out]: MatMul, Gemm with transB=0);
   * Conv and Gemm transB=1 store the GEMM view as is. `prunelab prune` undoes the view with it.
   */
  readonly gemmTransposed: boolean;
  /**
   * The layer (by `name`) whose output reaches this layer's input through weightless nodes only (following
   * each node's first input: activations, normalisation, pooling, the first operand of an Add, ...), or null
   * when the input comes from the graph input or from a node the reader does not follow. The network op chains
   * a layer to the one before it only when this names that layer and the sizes agree.
   */
  readonly inputFrom: string | null;
}

export interface SkippedNode {
  readonly node: string;
  readonly opType: string;
  readonly reason: string;
  /** Set when the node was skipped for its weights' data type (fp16, int8, ...): a sweep refuses those. */
  readonly dataType?: string;
}

export interface OnnxModel {
  readonly name: string;
  readonly layers: readonly OnnxLayer[];
  readonly skipped: readonly SkippedNode[];
}

const PASS_THROUGH = new Set([
  'Relu',
  'Clip',
  'Sigmoid',
  'Tanh',
  'LeakyRelu',
  'HardSigmoid',
  'HardSwish',
  'Elu',
  'Selu',
  'PRelu',
  'Softmax',
  'LogSoftmax',
  'BatchNormalization',
  'InstanceNormalization',
  'LayerNormalization',
  'Dropout',
  'Identity',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Cast',
  'Neg',
  'Abs',
  'Exp',
  'Sqrt',
  'Pow',
  'Erf',
  'Gelu',
  'LRN',
]);
const WEIGHTED_UNSUPPORTED = new Set([
  'ConvTranspose',
  'LSTM',
  'GRU',
  'RNN',
  'ConvInteger',
  'QLinearConv',
  'MatMulInteger',
  'QLinearMatMul',
  'DeformConv',
  'Einsum',
]);
const DATA_TYPES: Record<number, string> = {
  1: 'FLOAT',
  2: 'UINT8',
  3: 'INT8',
  6: 'INT32',
  7: 'INT64',
  10: 'FLOAT16',
  11: 'DOUBLE',
  16: 'BFLOAT16',
};

function toNumber(value: Int | null | undefined): number {
  if (value === null || value === undefined) return Number.NaN;
  return typeof value === 'number' ? value : value.toNumber();
}

function nodeName(node: Node, index: number): string {
  return node.name !== '' && node.name !== undefined ? node.name : `${node.opType}_${index} (unnamed)`;
}

interface Attributes {
  ints(name: string): number[] | undefined;
  int(name: string): number | undefined;
  text(name: string): string | undefined;
}

function attributes(node: Node): Attributes {
  const find = (name: string) => node.attribute.find((a) => a.name === name);
  return {
    ints: (name) => find(name)?.ints?.map((v) => toNumber(v as Int)),
    int: (name) => {
      const a = find(name);
      return a === undefined ? undefined : toNumber(a.i as Int);
    },
    text: (name) => {
      const a = find(name);
      return a?.s === undefined || a.s === null ? undefined : new TextDecoder().decode(a.s);
    },
  };
}

/** Why an initializer's values are not read: a data type other than fp32. */
interface UnreadType {
  readonly dataType: string;
  readonly reason: string;
}

/** Float32 values of an initializer; UnreadType when they are not fp32 (the caller decides how to report). */
function tensorFloats(tensor: Tensor, source: string): Float32Array | UnreadType {
  if (tensor.dataLocation === 1) {
    throw new OnnxModelError(
      `${source}: initializer '${tensor.name}' keeps its data in an external file, which prunelab does not ` +
        'read; save the model with the weights inside (onnx.save_model(..., save_as_external_data=False)).',
      { source, node: tensor.name },
    );
  }
  if (tensor.dataType !== 1) {
    const dataType = DATA_TYPES[tensor.dataType] ?? `data type ${tensor.dataType}`;
    return { dataType, reason: `weights '${tensor.name}' are ${dataType}; only fp32 is read` };
  }
  const count = tensor.dims.reduce((p: number, d) => p * toNumber(d as Int), 1);
  if (tensor.rawData !== undefined && tensor.rawData.length > 0) {
    if (tensor.rawData.length !== count * 4) {
      throw new OnnxModelError(
        `${source}: initializer '${tensor.name}' has ${tensor.rawData.length} bytes of raw data; its dims ` +
          `[${tensor.dims.join(', ')}] need ${count * 4}. The file is truncated or corrupt.`,
        { source, node: tensor.name },
      );
    }
    const copy = new Uint8Array(tensor.rawData); // aligned copy: rawData may sit at any offset
    const view = new DataView(copy.buffer);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  if (tensor.floatData.length !== count) {
    throw new OnnxModelError(
      `${source}: initializer '${tensor.name}' has ${tensor.floatData.length} values; its dims ` +
        `[${tensor.dims.join(', ')}] need ${count}.`,
      { source, node: tensor.name },
    );
  }
  return Float32Array.from(tensor.floatData);
}

function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c] as number;
  return out;
}

function layerName(weightName: string, fallback: string): string {
  return weightName.endsWith('.weight') ? weightName.slice(0, -'.weight'.length) : fallback;
}

function decode(bytes: Uint8Array, source: string) {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new OnnxModelError(
      `${source} is not a readable ONNX model: the protobuf decode failed (${(error as Error).message}). ` +
        'Expected a ModelProto file as torch.onnx.export or onnx.save writes it; check the path and that ' +
        'the file was copied whole.',
      { source },
      { cause: error },
    );
  }
}

function pooledSide(side: number, k: number, stride: number, padSum: number, ceil: boolean): number {
  const span = (side + padSum - k) / stride;
  return (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
}

const product = (values: readonly number[]): number => values.reduce((p, v) => p * v, 1);

/** Output shape of a weightless op from its first input's shape, or undefined when it is not one we follow. */
function propagate(
  op: string,
  x: number[] | undefined,
  attr: Attributes,
  inputs: readonly (number[] | undefined)[],
  second: Tensor | undefined,
): number[] | undefined {
  if (x === undefined) return undefined;
  if (PASS_THROUGH.has(op)) return x;
  if (op === 'MaxPool' || op === 'AveragePool') {
    if (x.length !== 4) return undefined;
    const k = attr.ints('kernel_shape') ?? [1, 1];
    const s = attr.ints('strides') ?? [1, 1];
    const p = attr.ints('pads') ?? [0, 0, 0, 0];
    const ceil = (attr.int('ceil_mode') ?? 0) === 1;
    return [
      x[0] as number,
      x[1] as number,
      pooledSide(x[2] as number, k[0] ?? 1, s[0] ?? 1, (p[0] ?? 0) + (p[2] ?? 0), ceil),
      pooledSide(x[3] as number, k[1] ?? 1, s[1] ?? 1, (p[1] ?? 0) + (p[3] ?? 0), ceil),
    ];
  }
  if (op === 'GlobalAveragePool' || op === 'GlobalMaxPool') return [x[0] as number, x[1] as number, 1, 1];
  if (op === 'Flatten') {
    const axis = attr.int('axis') ?? 1;
    const at = axis < 0 ? x.length + axis : axis;
    return [product(x.slice(0, at)), product(x.slice(at))];
  }
  if (op === 'Reshape') {
    if (second === undefined) return undefined;
    const want =
      second.int64Data.length > 0
        ? second.int64Data.map((v) => toNumber(v as Int))
        : Array.from(new BigInt64Array(new Uint8Array(second.rawData).buffer), Number);
    const dims = want.map((d, i) => (d === 0 ? (x[i] as number) : d));
    const known = product(dims.filter((d) => d !== -1));
    return dims.map((d) => (d === -1 ? product(x) / known : d));
  }
  if (op === 'Concat') {
    if (inputs.some((s) => s === undefined)) return undefined;
    const axis = attr.int('axis') ?? 1;
    const at = axis < 0 ? x.length + axis : axis;
    const out = [...x];
    out[at] = inputs.reduce((sum, s) => sum + ((s as number[])[at] as number), 0);
    return out;
  }
  return undefined;
}

/** One graph node being read, with what it needs of the graph so far. */
interface NodeVisit {
  readonly source: string;
  readonly node: Node;
  readonly name: string;
  readonly op: string;
  readonly attr: Attributes;
  readonly initializers: ReadonlyMap<string, Tensor>;
  /** Which node made a tensor's shape unknown (for the error message). */
  readonly lostBy: ReadonlyMap<string, string>;
  readonly layers: OnnxLayer[];
  /** OnnxLayer.inputFrom for a layer this node makes. */
  readonly inputFrom: string | null;
  input(i: number): string;
  inShape(i: number): number[] | undefined;
  setOut(shape: number[] | undefined): void;
  skip(reason: string, dataType?: string): void;
}

/** The shapes the file states: graph inputs, value_info, outputs and initializers. */
function statedShapes(graph: Graph, initializers: ReadonlyMap<string, Tensor>): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const info of [...graph.input, ...graph.valueInfo, ...graph.output]) {
    const dims = info.type?.tensorType?.shape?.dim;
    if (dims === undefined || dims === null) continue;
    // A symbolic dimension (`batch`, `N`) is the batch: the agent times batch 1.
    const values = dims.map((d, i) => {
      const value = toNumber(d.dimValue as Int | null | undefined);
      return value > 0 ? value : i === 0 ? 1 : Number.NaN;
    });
    if (values.every((v) => Number.isFinite(v))) shapes.set(info.name ?? '', values);
  }
  for (const [name, tensor] of initializers)
    shapes.set(
      name,
      tensor.dims.map((d) => toNumber(d as Int)),
    );
  return shapes;
}

/** A Conv node: a conv or depthwise layer the agent times, or a skip that says why not. */
function readConv(visit: NodeVisit): void {
  const { source, name, op, attr, initializers, lostBy, layers, input, inShape, setOut, skip } = visit;
  const weight = initializers.get(input(1));
  const x = inShape(0);
  if (weight === undefined) {
    skip(`weights '${input(1)}' are not an initializer (computed at run time): nothing to prune`);
    setOut(undefined);
    return;
  }
  const [m, cPerGroup, kh, kw] = weight.dims.map((d) => toNumber(d as Int));
  if (
    weight.dims.length !== 4 ||
    m === undefined ||
    cPerGroup === undefined ||
    kh === undefined ||
    kw === undefined
  ) {
    skip(
      `weights '${weight.name}' have dims [${weight.dims.join(', ')}]; only 2-D convolutions (4-D weights) are timed`,
    );
    setOut(undefined);
    return;
  }
  if (x === undefined || x.length !== 4) {
    const why = lostBy.get(input(0));
    throw new OnnxModelError(
      `${source}: cannot tell the input size of Conv node '${name}' (input '${input(0)}')` +
        (why === undefined ? '' : `: its shape is lost after ${why}, an op prunelab does not propagate`) +
        '. Give the model input a fixed shape and run onnx.shape_inference.infer_shapes on the file ' +
        '(it writes value_info, which prunelab reads).',
      { source, node: name, opType: op },
    );
  }
  const [, c, h, w] = x as [number, number, number, number];
  const group = attr.int('group') ?? 1;
  const strides = attr.ints('strides') ?? [1, 1];
  const dilations = attr.ints('dilations') ?? [1, 1];
  const autoPad = attr.text('auto_pad') ?? 'NOTSET';
  let pads = attr.ints('pads') ?? [0, 0, 0, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = (side: number, k: number, s: number) =>
      Math.max(0, (Math.ceil(side / s) - 1) * s + k - side);
    const ph = total(h, kh, strides[0] ?? 1);
    const pw = total(w, kw, strides[1] ?? 1);
    pads = [Math.floor(ph / 2), Math.floor(pw / 2), ph - Math.floor(ph / 2), pw - Math.floor(pw / 2)];
  } else if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  const ho = pooledSide(h, kh, strides[0] ?? 1, (pads[0] ?? 0) + (pads[2] ?? 0), false);
  const wo = pooledSide(w, kw, strides[1] ?? 1, (pads[1] ?? 0) + (pads[3] ?? 0), false);
  setOut([1, m, ho, wo]);
  const reasons: string[] = [];
  if (kh !== kw) reasons.push(`non-square kernel ${kh}x${kw}`);
  if (strides[0] !== strides[1]) reasons.push(`unequal strides ${strides.join('x')}`);
  if (dilations.some((d) => d !== 1)) reasons.push(`dilation ${dilations.join('x')}`);
  if (new Set(pads).size > 1) reasons.push(`uneven padding [${pads.join(', ')}]`);
  const depthwise = group > 1 && group === c && m === c && cPerGroup === 1;
  if (group > 1 && !depthwise) reasons.push(`grouped conv (group=${group}), neither dense nor depthwise`);
  if (cPerGroup * group !== c)
    reasons.push(`weights expect ${cPerGroup * group} input channels, input has ${c}`);
  if (reasons.length > 0) {
    skip(
      `the agent times square, undilated, evenly padded dense or depthwise convs; this one has ${reasons.join(', ')}`,
    );
    return;
  }
  const floats = tensorFloats(weight, source);
  if (!(floats instanceof Float32Array)) {
    skip(floats.reason, floats.dataType);
    return;
  }
  const stride = strides[0] ?? 1;
  const pad = pads[0] ?? 0;
  const shape: LayerShape = depthwise
    ? { ...dwconvShape(c, h, kh, stride, pad), w }
    : { ...convShape(c, m, h, kh, stride, pad), w };
  layers.push({
    name: layerName(weight.name, name),
    node: name,
    opType: op,
    shape,
    weights: floats,
    weightName: weight.name,
    weightDims: [m, cPerGroup, kh, kw],
    gemmTransposed: false,
    inputFrom: visit.inputFrom,
  });
  return;
}

/** A Gemm or MatMul node: a batch-1 FC layer the agent times, or a skip that says why not. */
function readGemm(visit: NodeVisit): void {
  const { source, name, op, attr, initializers, layers, input, inShape, setOut, skip } = visit;
  const weight = initializers.get(input(1));
  const a = inShape(0);
  if (weight === undefined) {
    skip(
      `second input '${input(1)}' is not an initializer: a product of two activations has no weights to prune`,
    );
    setOut(undefined);
    return;
  }
  if (weight.dims.length !== 2) {
    skip(
      `weights '${weight.name}' have dims [${weight.dims.join(', ')}]; only 2-D weight matrices are timed`,
    );
    setOut(undefined);
    return;
  }
  const [d0, d1] = weight.dims.map((d) => toNumber(d as Int)) as [number, number];
  const transB = op === 'Gemm' ? (attr.int('transB') ?? 0) : 0;
  const transA = op === 'Gemm' ? (attr.int('transA') ?? 0) : 0;
  const [inF, outF] = transB === 1 ? [d1, d0] : [d0, d1];
  setOut(a === undefined ? undefined : [...a.slice(0, -1), outF]);
  if (transA === 1) {
    skip('transA=1 (the activation is transposed): not a batch-1 matrix-vector product');
    return;
  }
  const rows = a === undefined ? 1 : a.slice(0, -1).reduce((p, v) => p * v, 1);
  if (rows !== 1) {
    skip(
      `input '${input(0)}' has shape [${a?.join(', ')}]: ${rows} rows per inference, the agent times batch-1 FC (1 row)`,
    );
    return;
  }
  const floats = tensorFloats(weight, source);
  if (!(floats instanceof Float32Array)) {
    skip(floats.reason, floats.dataType);
    return;
  }
  const gemmWeights = transB === 1 ? floats : transpose(floats, d0, d1);
  layers.push({
    name: layerName(weight.name, name),
    node: name,
    opType: op,
    shape: fcShape(inF, outF),
    weights: gemmWeights,
    weightName: weight.name,
    weightDims: [d0, d1],
    gemmTransposed: transB !== 1,
    inputFrom: visit.inputFrom,
  });
  return;
}

/**
 * ONNX requires the nodes in topological order, and shapes are followed in file order; a node that reads an
 * output made by itself or by a node after it (a cycle, or an unsorted graph) is refused, naming it.
 */
function refuseCycles(graph: Graph, source: string): void {
  const producedAt = new Map<string, number>();
  graph.node.forEach((node, index) => {
    for (const output of node.output ?? []) if (!producedAt.has(output)) producedAt.set(output, index);
  });
  graph.node.forEach((raw, index) => {
    const node = raw as Node;
    for (const input of node.input) {
      const producer = producedAt.get(input);
      if (producer === undefined || producer < index) continue;
      const by = graph.node[producer] as Node;
      throw new OnnxModelError(
        `${source}: ${node.opType} node '${nodeName(node, index)}' reads '${input}', which ` +
          (producer === index
            ? 'it makes itself'
            : `${by.opType} node '${nodeName(by, producer)}' makes after it`) +
          ': the graph has a cycle or is not in topological order, as ONNX requires. Re-export the model, or ' +
          'check it with onnx.checker.check_model.',
        { source, node: nodeName(node, index), opType: node.opType },
      );
    }
  });
}

export function parseOnnxModel(bytes: Uint8Array, source: string): OnnxModel {
  const model = decode(bytes, source);
  const graph = model.graph as Graph | null | undefined;
  if (graph === null || graph === undefined || graph.node.length === 0) {
    throw new OnnxModelError(
      `${source}: no graph with nodes in the file (decoded ${bytes.length} bytes as ModelProto); expected an ` +
        'ONNX model with Conv, Gemm or MatMul nodes.',
      { source },
    );
  }
  const initializers = new Map<string, Tensor>(
    graph.initializer.map((t): [string, Tensor] => [t.name ?? '', t as Tensor]),
  );
  refuseCycles(graph, source);
  const shapes = statedShapes(graph, initializers);
  /** Which node made a tensor's shape unknown (for the error message). */
  const lostBy = new Map<string, string>();

  const layers: OnnxLayer[] = [];
  const skipped: SkippedNode[] = [];
  /** Which layer's output a tensor carries, through weightless nodes (OnnxLayer.inputFrom). */
  const carries = new Map<string, string>();
  graph.node.forEach((raw, index) => {
    const node = raw as Node;
    const name = nodeName(node, index);
    const op = node.opType;
    const attr = attributes(node);
    const input = (i: number) => node.input[i] ?? '';
    const inShape = (i: number) => shapes.get(input(i));
    const setOut = (shape: number[] | undefined) => {
      const out = node.output[0];
      if (out === undefined) return;
      if (shape !== undefined && !shapes.has(out)) shapes.set(out, shape);
      if (shape === undefined && !shapes.has(out))
        lostBy.set(out, lostBy.get(input(0)) ?? `${op} node '${name}'`);
    };
    const skip = (reason: string, dataType?: string) =>
      skipped.push({ node: name, opType: op, reason, ...(dataType === undefined ? {} : { dataType }) });

    const layerCount = layers.length;
    const visit: NodeVisit = {
      source,
      node,
      name,
      op,
      attr,
      initializers,
      lostBy,
      layers,
      inputFrom: carries.get(input(0)) ?? null,
      input,
      inShape,
      setOut,
      skip,
    };
    const output = node.output[0] ?? '';
    if (op === 'Conv' || op === 'Gemm' || op === 'MatMul') {
      if (op === 'Conv') readConv(visit);
      else readGemm(visit);
      const made = layers.length > layerCount ? layers[layers.length - 1] : undefined;
      if (made !== undefined) carries.set(output, made.name);
      return;
    }
    if (!WEIGHTED_UNSUPPORTED.has(op) && visit.inputFrom !== null) carries.set(output, visit.inputFrom);
    if (WEIGHTED_UNSUPPORTED.has(op)) {
      skip(`${op} is not a kernel the agent times (it times Conv, depthwise Conv, Gemm and MatMul)`);
      setOut(undefined);
      return;
    }
    // Any other op: its output shape comes from propagate, or value_info, or is unknown.
    setOut(
      propagate(
        op,
        inShape(0),
        attr,
        node.input.map((n) => shapes.get(n)),
        initializers.get(input(1)),
      ),
    );
  });
  if (layers.length === 0) {
    throw new OnnxModelError(
      `${source}: no Conv, Gemm or MatMul node with fp32 weights the agent can time` +
        (skipped.length === 0
          ? ''
          : `; skipped: ${skipped.map((s) => `${s.opType} '${s.node}' (${s.reason})`).join('; ')}`),
      { source },
    );
  }
  return { name: graph.name === '' ? source : graph.name, layers, skipped };
}
