/** The `prunelab.mapping/v1` file and the text report (pure: a MapResult in, JSON or lines out). */
import type { Lut } from '../../cost-model/index.ts';
import { MAPPING_SCHEMA, type MapResult, PROXY_DEFINITION } from './compute.ts';
import type { Evaluation } from './evaluate.ts';
import type { MeasuredTable } from './measured-table.ts';
import type { SensitivityProvenance } from './sensitivity-file.ts';
import { tableText } from './table-rows.ts';
import type { VerifyReport } from './verify.ts';

export interface MappingContext {
  readonly lutPath: string;
  readonly lut: Lut;
  readonly model: {
    readonly name: string;
    readonly source: string;
    readonly weightsFrom: string;
    /** sha256 of the ONNX file, so `prunelab prune` can refuse a mapping made for another file. */
    readonly sha256?: string;
  };
  readonly skippedNodes: readonly {
    readonly node: string;
    readonly opType: string;
    readonly reason: string;
  }[];
  readonly createdAt: string;
  /** The sensitivity file the search used (--sensitivity), with its hashes. */
  readonly sensitivity?: SensitivityProvenance;
}

const ms = (ns: number): number => Math.round(ns / 1e3) / 1e3;

/**
 * Priced options the mapper could not use for want of a measured drop, per layer (withMeasuredDrops appends
 * those refusals after the pricing ones).
 */
export function unmeasuredOptions(result: MapResult): { name: string; options: string[] }[] {
  return result.candidates
    .map((layer, i) => ({
      name: layer.name,
      options: layer.refused.slice(result.priced[i]?.refused.length ?? 0).map((r) => r.option),
    }))
    .filter((u) => u.options.length > 0);
}

export function mappingJson(
  result: MapResult,
  context: MappingContext,
  extra: { evaluation?: Evaluation; verification?: VerifyReport; measuredTable?: MeasuredTable } = {},
) {
  return {
    schema: MAPPING_SCHEMA,
    createdAt: context.createdAt,
    lut: {
      path: context.lutPath,
      device: context.lut.device,
      backend: context.lut.backend ?? 'cpu',
      agentHash: context.lut.agentHash,
    },
    model: { ...context.model, skippedNodes: context.skippedNodes },
    mapper: result.mapper,
    goal: result.goal,
    settings: result.settings,
    proxy: { definition: PROXY_DEFINITION, value: result.totals.proxy },
    accuracyTerm:
      context.sensitivity === undefined
        ? 'proxy: mean kept energy (see proxy.definition)'
        : `measured: the sum of each layer's drop of ${context.sensitivity.metric} measured with that layer alone ` +
          'pruned (sensitivity; additive model, checked by --evaluate-with)',
    ...(context.sensitivity === undefined ? {} : { sensitivity: context.sensitivity }),
    totals: { ...result.totals, latencyMs: ms(result.totals.latencyNs) },
    choiceHash: result.choiceHash,
    layers: result.layers.map((l) => ({
      name: l.name,
      shapeKey: l.shapeKey,
      scheme: l.scheme,
      block: l.block,
      sparsity: l.sparsity,
      density: l.density,
      proxy: l.keptEnergy,
      measuredDrop: l.drop,
      predictedLatencyNs: l.latencyNs,
      predictedSource: l.source,
      predictedIntervalNs: l.intervalNs,
      ...(l.why === undefined ? {} : { rule: l.why }),
    })),
    denseOnly: result.denseOnly,
    ...(context.sensitivity === undefined ? {} : { unmeasured: unmeasuredOptions(result) }),
    unpriced: result.unpriced.map((u) => ({ name: u.name, reason: u.reason })),
    baselines: result.baselines.map((b) => ({
      name: b.name,
      latencyNs: b.latencyNs,
      sparsity: b.sparsity,
      speedupOfMapping: b.latencyNs === null ? null : b.latencyNs / result.totals.latencyNs,
      note: b.note,
    })),
    bestBaseline: result.bestBaseline,
    exact: result.exact,
    ...(extra.evaluation === undefined ? {} : { evaluation: extra.evaluation }),
    ...(extra.verification === undefined ? {} : { verification: extra.verification }),
    ...(extra.measuredTable === undefined ? {} : { measuredTable: extra.measuredTable }),
  };
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function goalText(goal: MapResult['goal']): string {
  switch (goal.kind) {
    case 'rule':
      return `rule mapper at sparsity ${goal.sparsity}`;
    case 'latency-budget':
      return `search: max proxy with predicted latency <= ${ms(goal.budgetNs)} ms`;
    case 'sparsity':
      return `search: min predicted latency at overall sparsity <= ${goal.sparsity}`;
    case 'latency-budget-drop':
      return `search: least summed measured drop with predicted latency <= ${ms(goal.budgetNs)} ms`;
    case 'max-accuracy-drop':
      return `search: min predicted latency with summed measured drop <= ${goal.maxDrop}`;
  }
}

export function mappingText(result: MapResult, context: MappingContext, outPath: string): string {
  const lines: string[] = [];
  const goal = goalText(result.goal);
  const where = `${context.lut.device.id}${context.lut.backend === 'gpu' ? ' GPU' : ''}`;
  lines.push(`${context.model.name} on ${where} (LUT ${context.lutPath}): ${goal}`);
  lines.push(`weights for the proxy: ${context.model.weightsFrom}`);
  if (context.sensitivity !== undefined) {
    lines.push(
      `measured drops (${context.sensitivity.metric}) from ${context.sensitivity.path} ` +
        `(data ${context.sensitivity.data.path}, ${context.sensitivity.data.samples} samples)`,
    );
  }
  lines.push('');
  lines.push(
    `${pad('layer', 28)} ${pad('scheme', 14)} ${pad('block', 6)} ${pad('sparsity', 8)} ${pad('proxy', 6)} ${pad('drop', 7)} ${pad('pred ms', 9)} source`,
  );
  for (const l of result.layers) {
    lines.push(
      `${pad(l.name, 28)} ${pad(l.scheme, 14)} ${pad(l.block ?? '-', 6)} ${pad(l.sparsity.toFixed(2), 8)} ` +
        `${pad(l.keptEnergy.toFixed(3), 6)} ${pad(l.drop === null ? '-' : l.drop.toFixed(4), 7)} ${pad(ms(l.latencyNs).toFixed(3), 9)} ${l.source}`,
    );
  }
  const t = result.totals;
  lines.push('');
  lines.push(
    `total: predicted ${ms(t.latencyNs).toFixed(3)} ms, proxy ${t.proxy.toFixed(4)} (mean kept energy: a PROXY, not accuracy), ` +
      `overall sparsity ${t.sparsity.toFixed(3)}` +
      (t.drop === null
        ? ''
        : `, summed measured drop ${t.drop.toFixed(4)} (additive model of single-layer drops)`),
  );
  lines.push('');
  lines.push(`uniform baselines at equal proxy (${t.proxy.toFixed(4)}):`);
  for (const b of result.baselines) {
    const latency = b.latencyNs === null ? '-' : `${ms(b.latencyNs).toFixed(3)} ms`;
    const speedup = b.latencyNs === null ? '' : `  mapping ${(b.latencyNs / t.latencyNs).toFixed(2)}x faster`;
    lines.push(`  ${pad(b.name, 24)} ${pad(latency, 12)}${speedup}  (${b.note})`);
  }
  if (result.exact !== null) {
    const e = result.exact;
    lines.push('');
    lines.push(
      `exact optimum (${e.objective}; DP at ${e.resolution} steps): search ${e.searchObjective.toPrecision(6)}, ` +
        `exact ${e.exactObjective.toPrecision(6)}, upper bound ${e.upperBound.toPrecision(6)}; search gap ${(e.gap * 100).toFixed(3)}% ` +
        `to the exact, <= ${(e.gapBound * 100).toFixed(3)}% to the true optimum`,
    );
  }
  // Grouped by reason: MobileNet's 17 depthwise convs share one.
  const byReason = new Map<string, string[]>();
  for (const d of result.denseOnly) {
    const reason = d.reasons[0] ?? 'no option priced';
    byReason.set(reason, [...(byReason.get(reason) ?? []), d.name]);
  }
  if (byReason.size > 0) lines.push('');
  for (const [reason, names] of byReason) {
    lines.push(`left dense, ${names.length} layer(s) (${reason}): ${names.join(', ')}`);
  }
  if (context.sensitivity !== undefined) {
    const unmeasured = unmeasuredOptions(result);
    const count = unmeasured.reduce((n, u) => n + u.options.length, 0);
    if (count > 0) {
      lines.push(
        `refused for want of a measured drop: ${count} priced option(s) on ${unmeasured.length} layer(s) ` +
          '(listed in the JSON under unmeasured; measure them with `prunelab sensitivity` on this LUT)',
      );
    }
  }
  for (const u of result.unpriced) lines.push(`NOT MAPPED (the LUT cannot price it): ${u.name}: ${u.reason}`);
  for (const s of context.skippedNodes) lines.push(`skipped ONNX node ${s.opType} '${s.node}': ${s.reason}`);
  lines.push('');
  lines.push(`wrote ${outPath}`);
  return lines.join('\n');
}

const signedPercent = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/** Milliseconds with 3 decimals, 4 below 0.1 ms (a batch-1 fc layer takes a few microseconds). */
const msText = (ns: number): string => (ns / 1e6).toFixed(ns < 1e5 ? 4 : 3);

export function verificationText(report: VerifyReport): string {
  const chained = report.layers.filter((l) => l.chained).length;
  const mapped = report.networks.find((n) => n.id === 'net-mapped');
  const lines = [
    `verified on ${report.device} (agent ${report.agentHash}, ${report.remeasuredLines.length > 0 ? `two calls (${report.remeasuredLines.length} disturbed lines measured again)` : 'one call'}, ${report.layers.length} layers, ` +
      `${(report.wallMs / 1000).toFixed(1)} s, weights ${report.weights}): ` +
      `${mapped === undefined ? 'sum of the layers timed alone' : 'mapped network end to end'} measured ` +
      `${msText(report.measuredTotalNs)} ms, predicted ${msText(report.predictedTotalNs)} ms ` +
      `(${signedPercent(report.relativeError)})`,
  ];
  if (report.networks.length === 0) {
    lines.push(
      '  no end-to-end figure: the agent runs networks on the CPU only; the layers were timed one by one',
    );
  } else {
    lines.push(
      `  end to end (network op: ${report.layers.length} layers back to back, ${chained} reading the previous ` +
        `layer's output; ${report.notRun ?? ''}):`,
    );
    const width = Math.max(...report.networks.map((n) => n.label.length));
    for (const n of report.networks) {
      lines.push(
        `    ${n.label.padEnd(width)}  measured ${msText(n.measuredNs)} ms  predicted ` +
          `${Number.isFinite(n.predictedNs) ? `${msText(n.predictedNs)} ms (${signedPercent(n.relativeError)})` : 'n/a'}` +
          `  ${n.reps} reps${n.remeasured ? ', measured again (disturbed)' : ''}`,
      );
    }
    const speedups = [
      report.speedupOverDense === null ? undefined : `${report.speedupOverDense.toFixed(2)}x over all dense`,
      report.speedupOverUniform === null
        ? undefined
        : `${report.speedupOverUniform.toFixed(2)}x over ${report.networks.find((n) => n.id === 'net-uniform')?.label}`,
    ].filter((s) => s !== undefined);
    if (speedups.length > 0) lines.push(`  measured speedup of the mapping: ${speedups.join(', ')}`);
  }
  lines.push(
    `  per layer, each timed alone (second pass): sum ${msText(report.sumIsolatedNs)} ms` +
      (report.interLayerEffect === null
        ? ''
        : `; mapped network / sum = ${(1 + report.interLayerEffect).toFixed(3)} (inter-layer effect ${signedPercent(report.interLayerEffect)})`),
  );
  const nameWidth = Math.max(...report.layers.map((l) => l.name.length));
  for (const l of report.layers) {
    lines.push(
      `    ${l.name.padEnd(nameWidth)}  measured ${msText(l.measuredNs)} ms  predicted ${msText(l.predictedNs)} ms` +
        `  density ${l.density.toFixed(3)}  ${l.kernel}${l.chained ? '  (reads previous)' : ''}`,
    );
  }
  return lines.join('\n');
}

export function measuredTableText(table: MeasuredTable): string {
  const caveat =
    table.sensitivityData === 'same'
      ? '\nnote: the sensitivity drops were measured on this same data: the mapping was chosen on it, so its ' +
        'measured drop is optimistic for unseen data (give --evaluate-with a held-out set)'
      : '';
  return `${tableText(
    {
      metric: table.metric,
      denseValue: table.denseValue,
      targetDrop: table.targetDrop,
      samples: table.data.samples,
      dataPath: table.data.path,
    },
    table.rows,
    table.bestBaseline,
  )}${caveat}`;
}
