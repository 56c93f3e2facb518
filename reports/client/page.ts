/** The embedded data and what every section derives from it: series names and colours, layers by shape. */
import type { EmbeddedData, EmbeddedLayer } from '../aggregate.ts';

export const DATA_ID = 'prunelab-report-data';

export interface Page {
  readonly data: EmbeddedData;
  readonly cases: EmbeddedData['cases'];
  readonly caseCount: number;
  /** Layers by shape index, for narrowing by model or layer. */
  readonly layersOfShape: ReadonlyMap<number, readonly EmbeddedLayer[]>;
  /** `bcr 8x4`, or the scheme alone for schemes without a block. */
  seriesOf(caseIndex: number): string;
  deviceLabel(deviceIndex: number): string;
  /** Plot's colour scale for the series present in `rows[key]`, with one colour per series page-wide. */
  seriesScale<Row>(rows: readonly Row[], key: keyof Row): SeriesScale;
}

export interface SeriesScale {
  readonly legend: true;
  readonly label: string;
  readonly domain: string[];
  readonly range: string[];
}

export function readData(): EmbeddedData {
  const text = document.getElementById(DATA_ID)?.textContent;
  if (text === null || text === undefined) throw new Error(`the report page has no #${DATA_ID} data block`);
  return JSON.parse(text) as EmbeddedData;
}

function groupLayersByShape(layers: readonly EmbeddedLayer[]): Map<number, EmbeddedLayer[]> {
  const layersOfShape = new Map<number, EmbeddedLayer[]>();
  for (const layer of layers) {
    const list = layersOfShape.get(layer.shape) ?? [];
    list.push(layer);
    layersOfShape.set(layer.shape, list);
  }
  return layersOfShape;
}

export function createPage(data: EmbeddedData): Page {
  const cases = data.cases;
  const caseCount = cases.medianNs.length;
  const seriesOf = (i: number): string => {
    const scheme = data.schemes[cases.scheme[i]];
    const block = cases.block[i];
    return block < 0 ? scheme : `${scheme} ${data.blocks[block]}`;
  };
  // One colour per scheme and block across every chart, so "bcr 8x4" is the same colour everywhere.
  const seriesCodes = new Map<number, string>();
  for (let i = 0; i < caseCount; i++) {
    const code = cases.scheme[i] * 4096 + cases.block[i] + 1;
    if (!seriesCodes.has(code)) seriesCodes.set(code, seriesOf(i));
  }
  const allSeries = [...new Set(seriesCodes.values())].sort();
  const palette = [...d3.schemeTableau10, ...d3.schemeSet2, ...d3.schemeDark2];
  const seriesColor = new Map(allSeries.map((s, i) => [s, palette[i % palette.length]]));
  return {
    data,
    cases,
    caseCount,
    layersOfShape: groupLayersByShape(data.layers),
    seriesOf,
    deviceLabel: (index) => data.devices[index]?.label ?? String(index),
    seriesScale(rows, key) {
      const present = new Set(rows.map((r) => String(r[key])));
      const unknown = [...present].filter((s) => !seriesColor.has(s)).sort();
      const domain = [...allSeries.filter((s) => present.has(s)), ...unknown];
      const range = domain.map(
        (s, i) => seriesColor.get(s) ?? palette[(allSeries.length + i) % palette.length],
      );
      return { legend: true, label: 'scheme and block', domain, range };
    },
  };
}
