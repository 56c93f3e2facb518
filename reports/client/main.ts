// The report page's script: reads the embedded data block, fills the controls, and (re)draws the Observable
// Plot charts and the case table for the current selection. Runs from file:// with d3 and Plot inlined
// before it; nothing here touches the network. Text from devices and configs only ever reaches the page
// through textContent, option.text and Plot (which sets text nodes), never through innerHTML.
// Bundled into one script by esbuild at build time (see reports/README.md).
import { CaseTable } from './case-table.ts';
import { fillLayers, selectedCases, selection, setUpControls } from './controls.ts';
import { el, empty } from './dom.ts';
import { drawLatency } from './latency.ts';
import { drawLuts } from './luts.ts';
import { drawMappings } from './mappings.ts';
import { drawNightly } from './nightly.ts';
import { createPage, readData } from './page.ts';
import { drawSpeedup } from './speedup.ts';
import { setUpStaticTables } from './static-tables.ts';
import { drawTelemetry } from './telemetry.ts';

/** Draws one section; a section that throws shows why instead of leaving the others undrawn. */
function guarded(id: string, draw: () => void): void {
  try {
    draw();
  } catch (error) {
    console.error(`report: drawing ${id} failed`, error);
    empty(id, `This chart could not be drawn: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function start(): void {
  const scriptStartedMs = performance.now();
  const page = createPage(readData());
  const controls = setUpControls(page);
  setUpStaticTables();
  let currentIdx: number[] = [];
  const table = new CaseTable(page, () => table.draw(currentIdx));
  const render = () => {
    const sel = selection(page, controls);
    currentIdx = selectedCases(page, sel);
    el('selection-count').textContent = `${currentIdx.length} of ${page.caseCount} cases selected`;
    guarded('chart-latency', () => drawLatency(page, sel, currentIdx));
    guarded('chart-speedup', () => drawSpeedup(page, currentIdx));
    guarded('cases-table', () => table.draw(currentIdx));
    guarded('chart-temperature', () => drawTelemetry(page, sel));
    guarded('chart-lut-scatter', () => drawLuts(page, sel));
    guarded('chart-mapping-layers', () => drawMappings(page, sel));
    guarded('chart-nightly-sentinels', () => drawNightly(page, sel));
    document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
  };
  controls.model.addEventListener('change', () => {
    fillLayers(page, controls);
    render();
  });
  for (const select of [controls.device, controls.layer, controls.threads, controls.sparsity])
    select.addEventListener('change', render);
  el('cases-filter').addEventListener('input', () => {
    table.firstPage();
    table.draw(currentIdx);
  });
  table.buildHead();
  render();
  // For tests and the curious: how long parsing the data and the first drawing took, in this browser.
  document.body.dataset.firstRenderMs = String(Math.round(performance.now() - scriptStartedMs));
  document.body.dataset.ready = 'true';
}

start();
