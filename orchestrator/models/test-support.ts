/**
 * Builds small ONNX models in tests with onnx-proto's generated classes (the same code that decodes them), so
 * no binary fixture has to be checked in. Weights are deterministic functions of their index.
 */
import onnxProto from 'onnx-proto';
import { SplitMix64 } from '../../cost-model/index.ts';

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

/** Conv with optional bias: the node's inputs are [x, weight(, bias)]. */
function biasedConvNode(
  name: string,
  input: string,
  output: string,
  attrs: { kernel: number; pad?: number; stride?: number; group?: number; bias?: boolean },
): TestNode {
  const pad = attrs.pad ?? 0;
  const stride = attrs.stride ?? 1;
  return {
    op: 'Conv',
    name: `/${name}/Conv`,
    inputs: [input, `${name}.weight`, ...(attrs.bias === true ? [`${name}.bias`] : [])],
    output,
    ints: {
      kernel_shape: [attrs.kernel, attrs.kernel],
      pads: [pad, pad, pad, pad],
      strides: [stride, stride],
    },
    ...(attrs.group === undefined ? {} : { int: { group: attrs.group } }),
  };
}

/** The initializer dims of digitsNet, by ONNX name (what train-digits.py writes, in the same layouts). */
export const DIGITS_NET_DIMS: Readonly<Record<string, readonly number[]>> = {
  'conv1.weight': [8, 1, 3, 3],
  'conv1.bias': [8],
  'dw.weight': [8, 1, 3, 3],
  'dw.bias': [8],
  'pw.weight': [16, 8, 1, 1],
  'pw.bias': [16],
  'fc.weight': [10, 256],
  'fc.bias': [10],
};

/**
 * The digits fixture's CNN (orchestrator/fixtures/train-digits.py trains it): x [batch, 1, 8, 8] -> Conv 3x3
 * pad 1, 1->8 -> Relu -> depthwise Conv 3x3 stride 2 pad 1 (8) -> Relu -> Conv 1x1 8->16 -> Relu -> Flatten
 * -> Gemm 256->10 (transB=1) -> y [batch, 10]; every layer with a bias. `weights` gives every initializer of
 * DIGITS_NET_DIMS by name; a missing or mis-sized one throws.
 */
export function digitsNet(weights: Readonly<Record<string, Float32Array>>): Uint8Array {
  const initializers = Object.entries(DIGITS_NET_DIMS).map(([name, dims]): TestInitializer => {
    const values = weights[name];
    const count = dims.reduce((p, d) => p * d, 1);
    if (values?.length !== count)
      throw new RangeError(
        `digitsNet: expected ${count} values for '${name}', got ${values?.length ?? 'none'}`,
      );
    return { name, dims, values, raw: true };
  });
  return buildOnnxModel({
    input: { name: 'x', dims: [1, 1, 8, 8] },
    nodes: [
      biasedConvNode('conv1', 'x', 'c1', { kernel: 3, pad: 1, bias: true }),
      { op: 'Relu', name: '/relu1/Relu', inputs: ['c1'], output: 'r1' },
      biasedConvNode('dw', 'r1', 'c2', { kernel: 3, pad: 1, stride: 2, group: 8, bias: true }),
      { op: 'Relu', name: '/relu2/Relu', inputs: ['c2'], output: 'r2' },
      biasedConvNode('pw', 'r2', 'c3', { kernel: 1, bias: true }),
      { op: 'Relu', name: '/relu3/Relu', inputs: ['c3'], output: 'r3' },
      { op: 'Flatten', name: '/flatten/Flatten', inputs: ['r3'], output: 'f1', int: { axis: 1 } },
      {
        op: 'Gemm',
        name: '/fc/Gemm',
        inputs: ['f1', 'fc.weight', 'fc.bias'],
        output: 'y',
        int: { transB: 1 },
      },
    ],
    initializers,
    outputs: ['y'],
  });
}

/**
 * The label-free fixture's network and inputs: trainingNet with seeded uniform weights (SplitMix64), no fc
 * bias, and `samples` inputs [samples, 3, 8, 8] with a per-sample spatial wave per channel plus noise. With
 * these the dense model's top-1 spreads over several classes (with the default sin weights and noise inputs it
 * picks one class for every sample, and an agreement check could not fail). Its labels are its own dense top-1,
 * which only ONNX Runtime can say: orchestrator/fixtures/label-free.ts writes them.
 */
export function labelFreeNet(
  samples: number,
  seed = 2,
): { net: ReturnType<typeof trainingNet>; inputs: Float32Array } {
  const rng = new SplitMix64(seed);
  const weights: Record<string, Float32Array> = { 'fc.bias': new Float32Array(12) };
  for (const [name, count] of [
    ['conv1.weight', 216],
    ['dw.weight', 72],
    ['pw.weight', 128],
    ['fc.weight', 192],
    ['head.weight', 120],
  ] as const)
    weights[name] = Float32Array.from({ length: count }, () => rng.uniformPm1());
  const inputs = new Float32Array(samples * 192);
  for (let s = 0; s < samples; s++)
    for (let c = 0; c < 3; c++) {
      const [a, fy, fx, phase] = [
        rng.uniformPm1() * 2,
        rng.uniformPm1() * 3,
        rng.uniformPm1() * 3,
        rng.uniformPm1() * 3,
      ];
      for (let p = 0; p < 64; p++)
        inputs[s * 192 + c * 64 + p] =
          a * Math.sin(fy * (p >> 3) + fx * (p & 7) + phase) + 0.5 * rng.uniformPm1();
    }
  return { net: trainingNet(weights), inputs };
}

function convNode(
  name: string,
  input: string,
  weight: string,
  output: string,
  k: number,
  stride = 1,
): TestNode {
  const pad = (k - 1) / 2;
  return {
    op: 'Conv',
    name,
    inputs: [input, weight],
    output,
    ints: { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [stride, stride] },
  };
}

function rawInit(name: string, dims: readonly number[], salt: number): TestInitializer {
  return {
    name,
    dims,
    values: testWeights(
      dims.reduce((p, v) => p * v, 1),
      salt,
    ),
    raw: true,
  };
}

/**
 * A net whose layers do not all feed each other, for the network op, with ResNet-18 CIFAR-10 layer shapes (so a
 * LUT swept on that table measured every one): input 64x32x32 -> Conv c1 64->64 (3x3) -> Relu -> Conv c2 64->64
 * (3x3) -> Relu -> Conv c3 64->64 (3x3) -> Conv c4 64->128 (3x3, stride 2) -> MaxPool 8 -> Flatten (512) -> Gemm
 * fc 512->10; and a side branch Conv side 64->128 (1x1, stride 2) on c1's output, listed between c2 and c3 (a
 * graph output: it feeds nothing). So c2 reads c1's output, c3 reads c2's (not side's, the layer before it in
 * node order), c4 reads c3's, and fc reads a pooled map (another size).
 */
export function branchyNet(): Uint8Array {
  return buildOnnxModel({
    input: { name: 'x', dims: [1, 64, 32, 32] },
    nodes: [
      convNode('/c1/Conv', 'x', 'c1.weight', 'a1', 3),
      { op: 'Relu', name: '/r1/Relu', inputs: ['a1'], output: 'r1' },
      convNode('/c2/Conv', 'r1', 'c2.weight', 'a2', 3),
      convNode('/side/Conv', 'r1', 'side.weight', 'side', 1, 2),
      { op: 'Relu', name: '/r2/Relu', inputs: ['a2'], output: 'r2' },
      convNode('/c3/Conv', 'r2', 'c3.weight', 'a3', 3),
      convNode('/c4/Conv', 'a3', 'c4.weight', 'a4', 3, 2),
      {
        op: 'MaxPool',
        name: '/pool/MaxPool',
        inputs: ['a4'],
        output: 'p4',
        ints: { kernel_shape: [8, 8], strides: [8, 8] },
      },
      { op: 'Flatten', name: '/flatten/Flatten', inputs: ['p4'], output: 'f', int: { axis: 1 } },
      { op: 'Gemm', name: '/fc/Gemm', inputs: ['f', 'fc.weight'], output: 'y', int: { transB: 1 } },
    ],
    initializers: [
      rawInit('c1.weight', [64, 64, 3, 3], 1),
      rawInit('c2.weight', [64, 64, 3, 3], 2),
      rawInit('side.weight', [128, 64, 1, 1], 3),
      rawInit('c3.weight', [64, 64, 3, 3], 4),
      rawInit('c4.weight', [128, 64, 3, 3], 5),
      rawInit('fc.weight', [10, 512], 6),
    ],
    outputs: ['y', 'side'],
  });
}

/**
 * A ResNet-like CNN for CIFAR-sized input (3x32x32), written with onnx-proto: a 3x3 stem, then `stages` stages
 * of `blocksPerStage` basic blocks (two 3x3 convs with ReLU and BatchNorm-free residual Add; the first block of
 * every stage after the first halves the map with stride 2 and has a 1x1 stride-2 shortcut conv), global
 * average pooling and a Gemm classifier. Widths `width * 2^stage`. Weights are testWeights (deterministic).
 */
export function resnetLikeNet(options: {
  stages: number;
  blocksPerStage: number;
  width: number;
}): Uint8Array {
  const nodes: TestNode[] = [];
  const inits: TestInitializer[] = [];
  let salt = 1;
  const conv = (
    name: string,
    input: string,
    cin: number,
    cout: number,
    k: number,
    stride: number,
  ): string => {
    inits.push(rawInit(`${name}.weight`, [cout, cin, k, k], salt++));
    nodes.push(convNode(`/${name}/Conv`, input, `${name}.weight`, `${name}.out`, k, stride));
    return `${name}.out`;
  };
  const relu = (name: string, input: string): string => {
    nodes.push({ op: 'Relu', name: `/${name}/Relu`, inputs: [input], output: `${name}.relu` });
    return `${name}.relu`;
  };
  let x = relu('stem', conv('stem', 'x', 3, options.width, 3, 1));
  let channels = options.width;
  for (let s = 0; s < options.stages; s++) {
    const width = options.width * 2 ** s;
    for (let b = 0; b < options.blocksPerStage; b++) {
      const name = `layer${s + 1}.${b}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      const a = relu(`${name}.conv1`, conv(`${name}.conv1`, x, channels, width, 3, stride));
      const main = conv(`${name}.conv2`, a, width, width, 3, 1);
      const shortcut =
        stride === 1 && channels === width ? x : conv(`${name}.downsample`, x, channels, width, 1, stride);
      nodes.push({ op: 'Add', name: `/${name}/Add`, inputs: [main, shortcut], output: `${name}.add` });
      x = relu(name, `${name}.add`);
      channels = width;
    }
  }
  nodes.push({ op: 'GlobalAveragePool', name: '/pool/GlobalAveragePool', inputs: [x], output: 'pooled' });
  nodes.push({
    op: 'Flatten',
    name: '/flatten/Flatten',
    inputs: ['pooled'],
    output: 'flat',
    int: { axis: 1 },
  });
  inits.push(rawInit('fc.weight', [10, channels], salt++));
  nodes.push({
    op: 'Gemm',
    name: '/fc/Gemm',
    inputs: ['flat', 'fc.weight'],
    output: 'y',
    int: { transB: 1 },
  });
  return buildOnnxModel({
    input: { name: 'x', dims: [1, 3, 32, 32] },
    nodes,
    initializers: inits,
    outputs: ['y'],
  });
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
