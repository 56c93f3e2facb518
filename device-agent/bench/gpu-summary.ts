/**
 * The pure half of `npm run bench:gpu`: the cases it plans and how their results become speedups over the GPU
 * dense kernel, shares of the ideal 1/d, and fp16 against fp32. No I/O; gpu.ts runs the agent and prints.
 */

export const GPU_SPARSITIES = [0.5, 0.75, 0.9] as const;

export interface GpuBenchLayer {
  readonly key: string;
  readonly fields: Readonly<Record<string, number | string>>;
  readonly k: number;
}

/** Small enough that PoCL on 2 shared cores runs the whole plan in about a minute. */
export const GPU_BENCH_LAYERS: readonly GpuBenchLayer[] = [
  {
    key: 'conv 64->64 k3 @28x28',
    k: 3,
    fields: { op: 'conv', cin: 64, cout: 64, h: 28, w: 28, k: 3, stride: 1, pad: 1 },
  },
  {
    key: 'conv 128->128 k1 @28x28',
    k: 1,
    fields: { op: 'conv', cin: 128, cout: 128, h: 28, w: 28, k: 1, stride: 1, pad: 0 },
  },
  { key: 'fc 1024->1024', k: 1, fields: { op: 'fc', in: 1024, out: 1024 } },
];

export interface GpuVariant {
  readonly scheme: string;
  readonly block?: string;
}

export function gpuVariants(layer: GpuBenchLayer): readonly GpuVariant[] {
  return [
    { scheme: 'unstructured' },
    { scheme: 'filter' },
    { scheme: 'channel' },
    ...(layer.k === 3 ? [{ scheme: 'pattern' }] : []),
    { scheme: 'bcr', block: '4x1' },
    { scheme: 'bcr', block: '8x4' },
    { scheme: 'block-punched', block: '8x4' },
  ];
}

export const variantName = (v: GpuVariant): string => (v.block ? `${v.scheme} ${v.block}` : v.scheme);

export interface GpuBenchCase {
  readonly id: string;
  readonly layer: GpuBenchLayer;
  readonly variant: GpuVariant;
  readonly sparsity: number;
  readonly dtype: 'fp32' | 'fp16';
}

/** Dense in both dtypes, every variant at every sparsity in fp32, and bcr 8x4 at 75% in fp16 too. A pattern
 * keeps at most 4/9, so its 50% case would be refused: it is not planned. */
export function gpuBenchCases(layers: readonly GpuBenchLayer[]): GpuBenchCase[] {
  const cases: GpuBenchCase[] = [];
  const add = (layer: GpuBenchLayer, variant: GpuVariant, sparsity: number, dtype: 'fp32' | 'fp16') =>
    cases.push({
      id: `${layer.key} | ${variantName(variant)} | ${sparsity} | ${dtype}`,
      layer,
      variant,
      sparsity,
      dtype,
    });
  for (const layer of layers) {
    for (const dtype of ['fp32', 'fp16'] as const) add(layer, { scheme: 'dense' }, 0, dtype);
    for (const v of gpuVariants(layer))
      for (const sp of GPU_SPARSITIES) if (!(v.scheme === 'pattern' && sp < 5 / 9)) add(layer, v, sp, 'fp32');
    add(layer, { scheme: 'bcr', block: '8x4' }, 0.75, 'fp16');
  }
  return cases;
}

export function gpuPlanLine(
  c: GpuBenchCase,
  sampling: Readonly<Record<string, number>>,
): Record<string, unknown> {
  return {
    id: c.id,
    ...c.layer.fields,
    scheme: c.variant.scheme,
    ...(c.variant.block ? { block: c.variant.block } : {}),
    sparsity: c.sparsity,
    backend: 'gpu',
    dtype: c.dtype,
    ...sampling,
  };
}

export type GpuOutcome =
  | {
      readonly ok: true;
      readonly kernelMedianNs: number;
      readonly wallMedianNs: number;
      readonly density: number;
      readonly kernel: string;
    }
  | { readonly ok: false; readonly error: string };

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no samples');
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface GpuSpeedupRow {
  readonly layer: string;
  readonly variant: string;
  readonly sparsity: number;
  readonly density: number | null;
  /** dense kernel time / this case's kernel time (profiling events); null when either failed. */
  readonly speedup: number | null;
  /** speedup / (1/density): 1 means the kernel turned every removed weight into saved time. */
  readonly shareOfIdeal: number | null;
  readonly kernel: string | null;
  readonly error: string | null;
}

export interface GpuDtypeRow {
  readonly layer: string;
  readonly variant: string;
  readonly fp32KernelNs: number | null;
  readonly fp16KernelNs: number | null;
  /** fp32 time / fp16 time. */
  readonly fp16Speedup: number | null;
}

export interface GpuSummary {
  readonly speedups: readonly GpuSpeedupRow[];
  readonly dtypes: readonly GpuDtypeRow[];
}

export function summarizeGpu(
  cases: readonly GpuBenchCase[],
  outcomes: ReadonlyMap<string, GpuOutcome>,
): GpuSummary {
  const find = (layer: string, variant: string, sparsity: number, dtype: string) => {
    const c = cases.find(
      (x) =>
        x.layer.key === layer &&
        variantName(x.variant) === variant &&
        x.sparsity === sparsity &&
        x.dtype === dtype,
    );
    return c ? outcomes.get(c.id) : undefined;
  };
  const speedups: GpuSpeedupRow[] = [];
  const dtypes: GpuDtypeRow[] = [];
  for (const c of cases) {
    const layer = c.layer.key;
    if (c.dtype === 'fp32' && c.variant.scheme !== 'dense') {
      const dense = find(layer, 'dense', 0, 'fp32');
      const mine = outcomes.get(c.id);
      const ok = dense?.ok && mine?.ok ? { dense, mine } : null;
      const speedup = ok ? ok.dense.kernelMedianNs / ok.mine.kernelMedianNs : null;
      speedups.push({
        layer,
        variant: variantName(c.variant),
        sparsity: c.sparsity,
        density: mine?.ok ? mine.density : null,
        speedup,
        shareOfIdeal: speedup !== null && mine?.ok ? speedup * mine.density : null,
        kernel: mine?.ok ? mine.kernel : null,
        error: mine && !mine.ok ? mine.error : dense && !dense.ok ? `dense: ${dense.error}` : null,
      });
    }
    if (c.dtype === 'fp16') {
      const v = variantName(c.variant);
      const a = find(layer, v, c.sparsity, 'fp32');
      const b = outcomes.get(c.id);
      const fp32KernelNs = a?.ok ? a.kernelMedianNs : null;
      const fp16KernelNs = b?.ok ? b.kernelMedianNs : null;
      dtypes.push({
        layer,
        variant: c.sparsity ? `${v} @${c.sparsity}` : v,
        fp32KernelNs,
        fp16KernelNs,
        fp16Speedup: fp32KernelNs !== null && fp16KernelNs !== null ? fp32KernelNs / fp16KernelNs : null,
      });
    }
  }
  return { speedups, dtypes };
}

const fmt = (x: number | null, digits = 2) => (x === null ? '-' : x.toFixed(digits));

export const POCL_WARNING = [
  "!!! PoCL runs these OpenCL kernels on this machine's CPU, not on a GPU. !!!",
  '!!! The figures below are NOT GPU speeds. They show only that each kernel turns sparsity into less work. !!!',
];

export function renderGpu(summary: GpuSummary, context: Readonly<Record<string, string>>): string {
  const out: string[] = [...POCL_WARNING, ''];
  for (const [k, v] of Object.entries(context)) out.push(`${k}: ${v}`);
  out.push(
    '',
    'Speedup over the GPU dense kernel (kernel time from profiling events, medians), share of 1/d:',
  );
  out.push(
    `${'layer'.padEnd(26)}${'scheme'.padEnd(20)}${'sparsity'.padStart(9)}${'density'.padStart(9)}${'speedup'.padStart(9)}${'of 1/d'.padStart(8)}  kernel`,
  );
  for (const r of summary.speedups)
    out.push(
      `${r.layer.padEnd(26)}${r.variant.padEnd(20)}${fmt(r.sparsity).padStart(9)}${fmt(r.density, 3).padStart(9)}${fmt(r.speedup).padStart(9)}${fmt(r.shareOfIdeal).padStart(8)}  ${r.kernel ?? `error: ${r.error}`}`,
    );
  out.push('', 'fp16 storage against fp32 (kernel time medians, us):');
  out.push(
    `${'layer'.padEnd(26)}${'case'.padEnd(20)}${'fp32'.padStart(10)}${'fp16'.padStart(10)}${'fp32/fp16'.padStart(11)}`,
  );
  for (const r of summary.dtypes)
    out.push(
      `${r.layer.padEnd(26)}${r.variant.padEnd(20)}${fmt(r.fp32KernelNs === null ? null : r.fp32KernelNs / 1e3, 1).padStart(10)}${fmt(r.fp16KernelNs === null ? null : r.fp16KernelNs / 1e3, 1).padStart(10)}${fmt(r.fp16Speedup).padStart(11)}`,
    );
  out.push('', ...POCL_WARNING);
  return out.join('\n');
}
