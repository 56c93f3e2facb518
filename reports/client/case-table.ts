/** The sortable, filterable, paged case table, drawn from the selected cases. */
import { el } from './dom.ts';
import { fmtNs, pct } from './format.ts';
import type { Page } from './page.ts';

const PAGE_ROWS = 200;

type CellValue = string | number | null;

interface CaseColumn {
  readonly title: string;
  /** Right-aligned, sorted as numbers. */
  readonly num?: boolean;
  readonly value: (caseIndex: number) => CellValue;
  /** The cell's text; String(value) without it. */
  readonly text?: (value: CellValue) => string;
}

function caseColumns(page: Page): CaseColumn[] {
  const { data, cases, layersOfShape, deviceLabel } = page;
  return [
    { title: 'device', value: (i: number) => deviceLabel(cases.device[i]) },
    { title: 'layer shape', value: (i: number) => data.shapes[cases.shape[i]] },
    {
      title: 'layers',
      value: (i: number) =>
        (layersOfShape.get(cases.shape[i]) ?? [])
          .map((l) => `${l.model}/${l.name}`)
          .slice(0, 4)
          .join(', ') + ((layersOfShape.get(cases.shape[i]) ?? []).length > 4 ? ', …' : ''),
    },
    { title: 'scheme', value: (i: number) => data.schemes[cases.scheme[i]] },
    { title: 'block', value: (i: number) => (cases.block[i] < 0 ? '—' : data.blocks[cases.block[i]]) },
    { title: 'sparsity', num: true, value: (i: number) => cases.sparsity[i], text: (v) => pct(v as number) },
    {
      title: 'density',
      num: true,
      value: (i: number) => cases.density[i],
      text: (v) => (v as number).toFixed(3),
    },
    { title: 'threads', num: true, value: (i: number) => cases.threads[i], text: String },
    {
      title: 'median',
      num: true,
      value: (i: number) => cases.medianNs[i],
      text: (v) => fmtNs(v as number | null),
    },
    { title: 'p10', num: true, value: (i: number) => cases.p10Ns[i], text: (v) => fmtNs(v as number | null) },
    { title: 'p90', num: true, value: (i: number) => cases.p90Ns[i], text: (v) => fmtNs(v as number | null) },
    { title: 'samples', num: true, value: (i: number) => cases.n[i], text: String },
    {
      title: 'speedup',
      num: true,
      value: (i: number) => cases.speedup[i],
      text: (v) => (v === null ? '—' : `${(v as number).toFixed(2)}×`),
    },
    { title: 'kernel', value: (i: number) => data.kernels[cases.kernel[i]] },
    { title: 'agent build', value: (i: number) => data.agents[cases.agent[i]] },
  ];
}

/** The table's state; `redraw` draws it again for the current selection (after a sort or a page change). */
export class CaseTable {
  private readonly columns: CaseColumn[];
  private sortColumn = 8;
  private ascending = true;
  private page = 0;

  constructor(
    private readonly report: Page,
    private readonly redraw: () => void,
  ) {
    this.columns = caseColumns(report);
  }

  /** Back to the first page (the filter changed). */
  firstPage(): void {
    this.page = 0;
  }

  buildHead(): void {
    const tr = document.createElement('tr');
    this.columns.forEach((column, c) => {
      const th = document.createElement('th');
      th.textContent = column.title;
      if (column.num) th.className = 'num';
      th.addEventListener('click', () => {
        this.ascending = this.sortColumn === c ? !this.ascending : true;
        this.sortColumn = c;
        this.page = 0;
        this.redraw();
      });
      tr.append(th);
    });
    el<HTMLTableElement>('cases-table').tHead?.replaceChildren(tr);
  }

  draw(idx: readonly number[]): void {
    const needle = el<HTMLInputElement>('cases-filter').value.trim().toLowerCase();
    let rows = idx;
    if (needle !== '') {
      rows = idx.filter((i) =>
        this.columns.some((column) => {
          const v = column.value(i);
          return String(column.text ? column.text(v) : v)
            .toLowerCase()
            .includes(needle);
        }),
      );
    }
    const column = this.columns[this.sortColumn];
    const direction = this.ascending ? 1 : -1;
    rows = [...rows].sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * direction;
    });
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
    this.page = Math.min(this.page, pages - 1);
    const start = this.page * PAGE_ROWS;
    const body = document.createElement('tbody');
    for (const i of rows.slice(start, start + PAGE_ROWS)) {
      const tr = document.createElement('tr');
      for (const c of this.columns) {
        const td = document.createElement('td');
        const v = c.value(i);
        td.textContent = c.text ? c.text(v) : String(v);
        if (c.num) td.className = 'num';
        tr.append(td);
      }
      body.append(tr);
    }
    const table = el<HTMLTableElement>('cases-table');
    table.tBodies[0].replaceWith(body);
    for (const [c, th] of [...(table.tHead?.rows[0].cells ?? [])].entries())
      th.setAttribute(
        'aria-sort',
        c === this.sortColumn ? (this.ascending ? 'ascending' : 'descending') : 'none',
      );
    this.drawPager(rows.length, pages);
  }

  private drawPager(rowCount: number, pages: number): void {
    const pager = el('cases-pager');
    pager.replaceChildren();
    const info = document.createElement('span');
    info.textContent = `${rowCount} of ${this.report.caseCount} cases${pages > 1 ? ` · page ${this.page + 1} of ${pages}` : ''}`;
    pager.append(info);
    if (pages <= 1) return;
    for (const [label, delta] of [
      ['◀ previous', -1],
      ['next ▶', 1],
    ] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = label;
      button.disabled = this.page + delta < 0 || this.page + delta >= pages;
      button.addEventListener('click', () => {
        this.page += delta;
        this.redraw();
      });
      pager.append(button);
    }
  }
}
