/** HTML building blocks shared by the report's sections: escaped cells, sortable tables, cards. Pure. */
import { escapeHtml } from './escape.ts';

export interface Column<T> {
  readonly title: string;
  readonly cell: (row: T) => string;
  /** Sort key; numbers sort numerically. Omitted: the cell's text. */
  readonly sort?: (row: T) => number | string | null;
  readonly className?: string;
}

export function table<T>(
  id: string,
  rows: readonly T[],
  columns: readonly Column<T>[],
  filterable: boolean,
): string {
  const head = columns
    .map(
      (c) =>
        `<th${c.className === undefined ? '' : ` class="${c.className}"`} scope="col">${escapeHtml(c.title)}</th>`,
    )
    .join('');
  const body = rows
    .map((row) => {
      const cells = columns.map((c) => {
        const sort = c.sort?.(row);
        const sortAttr = sort === undefined || sort === null ? '' : ` data-sort="${escapeHtml(sort)}"`;
        return `<td${c.className === undefined ? '' : ` class="${c.className}"`}${sortAttr}>${c.cell(row)}</td>`;
      });
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const filter = filterable
    ? `<input class="filter-input" type="search" placeholder="filter rows…" data-filter-for="${id}" aria-label="filter ${id}">`
    : '';
  return `${filter}<div class="table-wrap"><table id="${id}" class="sortable"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

export const text = (value: unknown): string =>
  value === null || value === undefined ? '—' : escapeHtml(value);

export function card(label: string, value: string, bad = false): string {
  return `<div class="card${bad ? ' bad' : ''}"><div class="v">${escapeHtml(value)}</div><div class="k">${escapeHtml(label)}</div></div>`;
}

/** A section whose charts the page script draws into the named divs; `extra` is static HTML below them. */
export function chartSection(
  id: string,
  title: string,
  note: string,
  charts: readonly string[],
  extra = '',
): string {
  const divs = charts.map((chart) => `<div class="chart" id="${chart}"></div>`).join('\n');
  return `<section id="${id}">
<h2>${escapeHtml(title)}</h2>
<p class="note">${note}</p>
${divs}
${extra}
</section>`;
}
