/**
 * Builds small ONNX models in tests with onnx-proto's generated classes (the same code that decodes them), so
 * no binary fixture has to be checked in. Weights are deterministic functions of their index.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export interface TestNode {
  readonly op: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly output: string;
  readonly ints?: Readonly<Record<string, readonly number[]>>;
  readonly int?: Readonly<Record<string, number>>;
}

export interface TestInitializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: Float32Array;
  /** Store as raw little-endian bytes (torch.onnx.export's way) instead of float_data. */
  readonly raw?: boolean;
  /** Declare another ONNX data type (10 = FLOAT16) over the same raw bytes: a model prunelab must refuse. */
  readonly dataType?: number;
  /** Declare the data external (data_location EXTERNAL, a location entry, no bytes inside). */
  readonly external?: boolean;
}

export function testWeights(count: number, salt: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.fround(Math.sin((i + 1) * (salt + 0.37)) * 0.5));
}

export function buildOnnxModel(options: {
  /** The batch dimension is symbolic (`batch`) unless `fixedBatch`: then dims[0] as given. */
  readonly input: { readonly name: string; readonly dims: readonly number[]; readonly fixedBatch?: boolean };
  readonly nodes: readonly TestNode[];
  readonly initializers: readonly TestInitializer[];
  readonly outputs: readonly string[];
}): Uint8Array {
  const attribute = (node: TestNode) => [
    ...Object.entries(node.ints ?? {}).map(([name, ints]) => ({ name, type: 7, ints: [...ints] })),
    ...Object.entries(node.int ?? {}).map(([name, i]) => ({ name, type: 2, i })),
  ];
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'prunelab-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'test-net',
      node: options.nodes.map((n) => ({
        opType: n.op,
        name: n.name,
        input: [...n.inputs],
        output: [n.output],
        attribute: attribute(n),
      })),
      initializer: options.initializers.map((t) =>
        t.external === true
          ? {
              name: t.name,
              dims: [...t.dims],
              dataType: 1,
              dataLocation: 1,
              externalData: [{ key: 'location', value: 'weights.bin' }],
            }
          : t.raw === true || t.dataType !== undefined
            ? {
                name: t.name,
                dims: [...t.dims],
                dataType: t.dataType ?? 1,
                rawData: new Uint8Array(t.values.buffer.slice(0)),
              }
            : { name: t.name, dims: [...t.dims], dataType: 1, floatData: [...t.values] },
      ),
      input: [
        {
          name: options.input.name,
          type: {
            tensorType: {
              elemType: 1,
              shape: {
                dim: options.input.dims.map((d, i) =>
                  i === 0 && options.input.fixedBatch !== true ? { dimParam: 'batch' } : { dimValue: d },
                ),
              },
            },
          },
        },
      ],
      output: options.outputs.map((name) => ({ name })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Conv 3->4 (3x3, pad 1) on 8x8 -> Relu -> {ConvTranspose side branch} -> GAP -> Flatten -> Gemm 4->5 -> MatMul 5->6. */
export function smallNet(): {
  bytes: Uint8Array;
  conv: Float32Array;
  gemm: Float32Array;
  matmul: Float32Array;
} {
  const conv = testWeights(4 * 3 * 3 * 3, 1);
  const gemm = testWeights(5 * 4, 2);
  const matmul = testWeights(5 * 6, 3);
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, 3, 8, 8] },
    nodes: [
      {
        op: 'Conv',
        name: '/features/conv/Conv',
        inputs: ['x', 'features.conv.weight'],
        output: 'c1',
        ints: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] },
      },
      { op: 'Relu', name: '/features/relu/Relu', inputs: ['c1'], output: 'r1' },
      {
        op: 'ConvTranspose',
        name: '/up/ConvTranspose',
        inputs: ['r1', 'up.weight'],
        output: 'side',
        ints: { kernel_shape: [2, 2], strides: [2, 2] },
      },
      { op: 'GlobalAveragePool', name: '/pool/GlobalAveragePool', inputs: ['r1'], output: 'p1' },
      { op: 'Flatten', name: '/flatten/Flatten', inputs: ['p1'], output: 'f1', int: { axis: 1 } },
      {
        op: 'Gemm',
        name: '/fc/Gemm',
        inputs: ['f1', 'fc.weight', 'fc.bias'],
        output: 'g1',
        int: { transB: 1 },
      },
      { op: 'MatMul', name: '/head/MatMul', inputs: ['g1', 'head.weight'], output: 'y' },
    ],
    initializers: [
      { name: 'features.conv.weight', dims: [4, 3, 3, 3], values: conv, raw: true },
      { name: 'up.weight', dims: [4, 2, 2, 2], values: testWeights(32, 4) },
      { name: 'fc.weight', dims: [5, 4], values: gemm },
      { name: 'fc.bias', dims: [5], values: testWeights(5, 5) },
      { name: 'head.weight', dims: [5, 6], values: matmul },
    ],
    outputs: ['y', 'side'],
  });
  return { bytes, conv, gemm, matmul };
}

/**
 * A small CNN with every layer kind prune and evaluate handle: Conv 3->8 (3x3, raw_data) -> Relu -> depthwise
 * Conv 8 (3x3, group 8) -> Relu -> Conv 8->16 (1x1) -> GlobalAveragePool -> Flatten -> Gemm 16->12 (transB=1,
 * bias) -> Relu -> MatMul 12->10 (weights [in][out]). Input x: [batch, 3, 8, 8]; output y: [batch, 10].
 * `weights` overrides initializers by name (a test multiplies masks in and builds the reference model).
 */
export function trainingNet(weights: Readonly<Record<string, Float32Array>> = {}): {
  bytes: Uint8Array;
  weights: Record<string, Float32Array>;
  dims: Record<string, readonly number[]>;
} {
  const dims: Record<string, readonly number[]> = {
    'conv1.weight': [8, 3, 3, 3],
    'dw.weight': [8, 1, 3, 3],
    'pw.weight': [16, 8, 1, 1],
    'fc.weight': [12, 16],
    'fc.bias': [12],
    'head.weight': [12, 10],
  };
  const all: Record<string, Float32Array> = {};
  Object.entries(dims).forEach(([name, d], i) => {
    all[name] =
      weights[name] ??
      testWeights(
        d.reduce((p, v) => p * v, 1),
        i + 1,
      );
  });
  const init = (name: string, raw = false): TestInitializer => ({
    name,
    dims: dims[name] ?? [],
    values: all[name] ?? new Float32Array(),
    raw,
  });
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, 3, 8, 8] },
    nodes: [
      {
        op: 'Conv',
        name: '/conv1/Conv',
        inputs: ['x', 'conv1.weight'],
        output: 'c1',
        ints: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] },
      },
      { op: 'Relu', name: '/relu1/Relu', inputs: ['c1'], output: 'r1' },
      {
        op: 'Conv',
        name: '/dw/Conv',
        inputs: ['r1', 'dw.weight'],
        output: 'c2',
        ints: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
        int: { group: 8 },
      },
      { op: 'Relu', name: '/relu2/Relu', inputs: ['c2'], output: 'r2' },
      {
        op: 'Conv',
        name: '/pw/Conv',
        inputs: ['r2', 'pw.weight'],
        output: 'c3',
        ints: { kernel_shape: [1, 1] },
      },
      { op: 'GlobalAveragePool', name: '/pool/GlobalAveragePool', inputs: ['c3'], output: 'p1' },
      { op: 'Flatten', name: '/flatten/Flatten', inputs: ['p1'], output: 'f1', int: { axis: 1 } },
      {
        op: 'Gemm',
        name: '/fc/Gemm',
        inputs: ['f1', 'fc.weight', 'fc.bias'],
        output: 'g1',
        int: { transB: 1 },
      },
      { op: 'Relu', name: '/relu3/Relu', inputs: ['g1'], output: 'r3' },
      { op: 'MatMul', name: '/head/MatMul', inputs: ['r3', 'head.weight'], output: 'y' },
    ],
    initializers: [
      init('conv1.weight', true),
      init('dw.weight'),
      init('pw.weight', true),
      init('fc.weight'),
      init('fc.bias'),
      init('head.weight', true),
    ],
    outputs: ['y'],
  });
  return { bytes, weights: all, dims };
}

/** A Conv node of a test model: 1x1 unless `ints` says otherwise, `group` when given. */
export function onnxConvNode(
  name: string,
  inputs: readonly string[],
  output: string,
  options: { readonly ints?: Readonly<Record<string, readonly number[]>>; readonly group?: number } = {},
): TestNode {
  return {
    op: 'Conv',
    name,
    inputs,
    output,
    ints: options.ints ?? { kernel_shape: [1, 1] },
    ...(options.group === undefined ? {} : { int: { group: options.group } }),
  };
}

/** A node name with shell and HTML characters: it must stay text in the shell, the SQL and the report. */
export const HOSTILE_NODE_NAME = `/b/Conv'; $(touch pwned) \`id\` <script>alert("x")</script> & "q"`;

/**
 * A net for sweeping (every kind a sweep meets): Conv 4->8 (/a) -> Relu -> Conv 8->8 (`bNode`) -> Conv 8->8 (/c,
 * the same shape as b, other weights) -> depthwise Conv 8 (/dw); a side branch from /c: Conv 8->4 1x1 (/side),
 * whose output feeds nothing but a graph output, and a grouped Conv (group 2, /g, skipped: neither dense nor
 * depthwise); then GlobalAveragePool -> Flatten -> Gemm 8->6 (/fc, transB=1) -> MatMul 6->5 (/head).
 * Input x: [batch, 4, 8, 8]. `dataType` declares every weight of that ONNX type instead (10 = FLOAT16).
 */
export function sweepNet(options: { readonly bNode?: string; readonly dataType?: number } = {}): {
  bytes: Uint8Array;
  weights: Record<string, Float32Array>;
} {
  const dims: Record<string, readonly number[]> = {
    'a.weight': [8, 4, 3, 3],
    'b.weight': [8, 8, 3, 3],
    'c.weight': [8, 8, 3, 3],
    'dw.weight': [8, 1, 3, 3],
    'side.weight': [4, 8, 1, 1],
    'g.weight': [8, 4, 3, 3],
    'fc.weight': [6, 8],
    'head.weight': [6, 5],
  };
  const weights: Record<string, Float32Array> = {};
  Object.entries(dims).forEach(([name, d], i) => {
    weights[name] = testWeights(
      d.reduce((p, v) => p * v, 1),
      i + 11,
    );
  });
  const conv3 = { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] };
  const bytes = buildOnnxModel({
    input: { name: 'x', dims: [1, 4, 8, 8] },
    nodes: [
      { op: 'Conv', name: '/a/Conv', inputs: ['x', 'a.weight'], output: 'a1', ints: conv3 },
      { op: 'Relu', name: '/a/Relu', inputs: ['a1'], output: 'r1' },
      { op: 'Conv', name: options.bNode ?? '/b/Conv', inputs: ['r1', 'b.weight'], output: 'b1', ints: conv3 },
      { op: 'Conv', name: '/c/Conv', inputs: ['b1', 'c.weight'], output: 'c1', ints: conv3 },
      onnxConvNode('/side/Conv', ['c1', 'side.weight'], 'side'),
      onnxConvNode('/dw/Conv', ['c1', 'dw.weight'], 'd1', { ints: conv3, group: 8 }),
      onnxConvNode('/g/Conv', ['d1', 'g.weight'], 'g1', { ints: conv3, group: 2 }),
      { op: 'GlobalAveragePool', name: '/pool/GlobalAveragePool', inputs: ['d1'], output: 'p1' },
      { op: 'Flatten', name: '/flatten/Flatten', inputs: ['p1'], output: 'f1', int: { axis: 1 } },
      { op: 'Gemm', name: '/fc/Gemm', inputs: ['f1', 'fc.weight'], output: 'fc1', int: { transB: 1 } },
      { op: 'MatMul', name: '/head/MatMul', inputs: ['fc1', 'head.weight'], output: 'y' },
    ],
    initializers: Object.entries(dims).map(([name, d], i) => ({
      name,
      dims: d,
      values: weights[name] ?? new Float32Array(),
      raw: i % 2 === 0,
      ...(options.dataType === undefined ? {} : { dataType: options.dataType }),
    })),
    outputs: ['y', 'side', 'g1'],
  });
  return { bytes, weights };
}
