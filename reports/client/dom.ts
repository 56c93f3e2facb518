/** DOM helpers: every text from the data reaches the page through textContent, option.text or Plot. */

/** The element with this id; the page's HTML (reports/render.ts) declares every id the script uses. */
export function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`the report page has no element #${id} (reports/render.ts writes it)`);
  return found as T;
}

export function show(id: string, node: Node): void {
  document.getElementById(id)?.replaceChildren(node);
}

export function empty(id: string, message: string): void {
  const p = document.createElement('p');
  p.className = 'empty';
  p.textContent = message;
  show(id, p);
}

export function titled(title: string, plot: Node): HTMLElement {
  const figure = document.createElement('div');
  const h = document.createElement('div');
  h.className = 'note';
  h.style.fontWeight = '600';
  h.textContent = title;
  figure.append(h, plot);
  return figure;
}

/** Chart width in pixels: the main column's, within [640, 1300]. */
export const width = (): number =>
  Math.max(640, Math.min(1300, (document.querySelector('main')?.clientWidth ?? 1000) - 20));

/** Replaces a select's options; `keep` keeps the current value when it is still offered. */
export function fill(
  select: HTMLSelectElement,
  options: readonly (readonly [string, string])[],
  keep: boolean,
) {
  const previous = keep ? select.value : undefined;
  select.replaceChildren();
  for (const [value, label] of options) {
    const option = document.createElement('option');
    option.value = value;
    option.text = label;
    select.append(option);
  }
  if (previous !== undefined && options.some(([value]) => value === previous)) select.value = previous;
}
