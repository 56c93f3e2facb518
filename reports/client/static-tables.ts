/** The static HTML tables: sort on a header click, filter from their search box. */
import { el } from './dom.ts';

/** A cell's sort key: its data-sort or text, as a number when it reads as one. */
function cellKey(td: HTMLTableCellElement | undefined): string | number {
  const raw = td?.dataset.sort ?? td?.textContent ?? '';
  const n = Number(raw);
  return raw !== '' && Number.isFinite(n) ? n : raw.toLowerCase();
}

function makeSortable(table: HTMLTableElement): void {
  const heads = [...(table.tHead?.rows[0].cells ?? [])];
  heads.forEach((th, c) => {
    th.addEventListener('click', () => {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      for (const other of heads) other.setAttribute('aria-sort', 'none');
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const rows = [...table.tBodies[0].rows];
      rows.sort((a, b) => {
        const x = cellKey(a.cells[c]);
        const y = cellKey(b.cells[c]);
        if (x === y) return 0;
        if (typeof x !== typeof y) return typeof x === 'number' ? -1 : 1;
        return (x < y ? -1 : 1) * (ascending ? 1 : -1);
      });
      table.tBodies[0].append(...rows);
    });
  });
}

export function setUpStaticTables(): void {
  for (const table of document.querySelectorAll<HTMLTableElement>('table.sortable')) makeSortable(table);
  for (const input of document.querySelectorAll<HTMLInputElement>('input[data-filter-for]')) {
    input.addEventListener('input', () => {
      const table = el<HTMLTableElement>(input.dataset.filterFor ?? '');
      const needle = input.value.trim().toLowerCase();
      for (const row of table.tBodies[0].rows)
        row.hidden = needle !== '' && !(row.textContent ?? '').toLowerCase().includes(needle);
    });
  }
}
