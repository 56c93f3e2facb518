/** The device/model/layer/threads/sparsity selects, and the selection they make. */
import type { EmbeddedLayer } from '../aggregate.ts';
import { el, fill } from './dom.ts';
import type { Page } from './page.ts';

export const ALL = '__all__';

export interface Selection {
  readonly device: number | null;
  readonly model: string | null;
  readonly layer: EmbeddedLayer | null;
  readonly threads: number | null;
  readonly sparsity: number | null;
  /** Shape indices of the selected layer or model; null: every shape. */
  readonly shapes: ReadonlySet<number> | null;
}

export interface Controls {
  readonly device: HTMLSelectElement;
  readonly model: HTMLSelectElement;
  readonly layer: HTMLSelectElement;
  readonly threads: HTMLSelectElement;
  readonly sparsity: HTMLSelectElement;
}

const ascending = (a: number, b: number) => a - b;

/** Fills the selects and picks the first measured device, the first model and thread count, the middle sparsity. */
export function setUpControls(page: Page): Controls {
  const { data, cases } = page;
  const controls: Controls = {
    device: el<HTMLSelectElement>('sel-device'),
    model: el<HTMLSelectElement>('sel-model'),
    layer: el<HTMLSelectElement>('sel-layer'),
    threads: el<HTMLSelectElement>('sel-threads'),
    sparsity: el<HTMLSelectElement>('sel-sparsity'),
  };
  const measuredDevices = [...new Set(cases.device)].sort(ascending);
  fill(
    controls.device,
    [[ALL, 'all devices'], ...data.devices.map((d, i) => [String(i), d.label] as const)],
    false,
  );
  if (measuredDevices.length > 0) controls.device.value = String(measuredDevices[0]);
  fill(controls.model, [[ALL, 'all models'], ...data.models.map((m) => [m, m] as const)], false);
  if (data.models.length > 0) controls.model.value = data.models[0];
  const threadValues = [...new Set(cases.threads)].sort(ascending);
  fill(controls.threads, [[ALL, 'all'], ...threadValues.map((t) => [String(t), String(t)] as const)], false);
  if (threadValues.length > 0) controls.threads.value = String(threadValues[0]);
  const sparsityValues = [
    ...new Set(cases.sparsity.filter((_s, i) => data.schemes[cases.scheme[i]] !== 'dense')),
  ].sort(ascending);
  fill(
    controls.sparsity,
    sparsityValues.map((s) => [String(s), `${Math.round(s * 1000) / 10}%`] as const),
    false,
  );
  if (sparsityValues.length > 0)
    controls.sparsity.value = String(sparsityValues[Math.floor((sparsityValues.length - 1) / 2)]);
  fillLayers(page, controls);
  return controls;
}

/** The layer select offers the layers of the selected model (all models: `model/layer`). */
export function fillLayers(page: Page, controls: Controls): void {
  const { data } = page;
  const model = controls.model.value;
  const layers = data.layers.filter((l) => model === ALL || l.model === model);
  const label = (l: EmbeddedLayer) => (model === ALL ? `${l.model}/${l.name}` : l.name);
  fill(
    controls.layer,
    [[ALL, 'all layers'], ...layers.map((l) => [`${data.layers.indexOf(l)}`, label(l)] as const)],
    true,
  );
}

export function selection(page: Page, controls: Controls): Selection {
  const { data } = page;
  const device = controls.device.value === ALL ? null : Number(controls.device.value);
  const model = controls.model.value === ALL ? null : controls.model.value;
  const layer = controls.layer.value === ALL ? null : (data.layers[Number(controls.layer.value)] ?? null);
  const threads = controls.threads.value === ALL ? null : Number(controls.threads.value);
  const sparsity = controls.sparsity.value === '' ? null : Number(controls.sparsity.value);
  let shapes: Set<number> | null = null;
  if (layer) shapes = new Set([layer.shape]);
  else if (model !== null) shapes = new Set(data.layers.filter((l) => l.model === model).map((l) => l.shape));
  return { device, model, layer, threads, sparsity, shapes };
}

/** Indices of the cases of the selected device, threads and shapes (sparsity narrows per chart). */
export function selectedCases(page: Page, sel: Selection): number[] {
  const { cases } = page;
  const out: number[] = [];
  for (let i = 0; i < page.caseCount; i++) {
    if (sel.device !== null && cases.device[i] !== sel.device) continue;
    if (sel.threads !== null && cases.threads[i] !== sel.threads) continue;
    if (sel.shapes !== null && !sel.shapes.has(cases.shape[i])) continue;
    out.push(i);
  }
  return out;
}
