// d3 and Observable Plot are inlined before the page script as UMD bundles that set these globals (see
// reports/render.ts). Plot ships its own types; d3's are not installed, so the few d3 calls the page makes
// are declared here.
import type * as PlotModule from '@observablehq/plot';

declare global {
  const Plot: typeof PlotModule;
  const d3: {
    readonly schemeTableau10: readonly string[];
    readonly schemeSet2: readonly string[];
    readonly schemeDark2: readonly string[];
    format(specifier: string): (value: number) => string;
    group<T, K1, K2>(items: Iterable<T>, key1: (item: T) => K1, key2: (item: T) => K2): Map<K1, Map<K2, T[]>>;
    median<T>(items: Iterable<T>, value: (item: T) => number): number | undefined;
    min<T>(items: Iterable<T>, value: (item: T) => number | null): number | undefined;
    max<T>(items: Iterable<T>, value: (item: T) => number | null): number | undefined;
    range(start: number, stop: number): number[];
  };
}
