// The report page's script: reads the embedded data block, fills the controls, and (re)draws the Observable
// Plot charts and the case table for the current selection. Runs from file:// with d3 and Plot inlined
// before it; nothing here touches the network. Text from devices and configs only ever reaches the page
// through textContent, option.text and Plot (which sets text nodes), never through innerHTML.
(() => {
  const scriptStartedMs = performance.now();
  const DATA_ID = 'prunelab-report-data';
  const PAGE_ROWS = 200;
  const MAX_SPEEDUP_DOTS = 6000;
  const ALL = '__all__';

  const data = JSON.parse(document.getElementById(DATA_ID).textContent);
  const cases = data.cases;
  const caseCount = cases.medianNs.length;

  function fmtNs(ns) {
    if (ns === null || ns === undefined || !Number.isFinite(ns)) return '—';
    const abs = Math.abs(ns);
    if (abs >= 1e9) return `${(ns / 1e9).toPrecision(3)} s`;
    if (abs >= 1e6) return `${(ns / 1e6).toPrecision(3)} ms`;
    if (abs >= 1e3) return `${(ns / 1e3).toPrecision(3)} µs`;
    return `${Math.round(ns)} ns`;
  }
  const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`);
  const el = (id) => document.getElementById(id);

  function seriesOf(i) {
    const scheme = data.schemes[cases.scheme[i]];
    const block = cases.block[i];
    return block < 0 ? scheme : `${scheme} ${data.blocks[block]}`;
  }
  const deviceLabel = (index) => data.devices[index]?.label ?? String(index);

  // One colour per scheme and block across every chart, so "bcr 8x4" is the same colour everywhere.
  const seriesCodes = new Map();
  for (let i = 0; i < caseCount; i++) {
    const code = cases.scheme[i] * 4096 + cases.block[i] + 1;
    if (!seriesCodes.has(code)) seriesCodes.set(code, seriesOf(i));
  }
  const allSeries = [...new Set(seriesCodes.values())].sort();
  const palette = [...d3.schemeTableau10, ...d3.schemeSet2, ...d3.schemeDark2];
  const seriesColor = new Map(allSeries.map((s, i) => [s, palette[i % palette.length]]));
  function seriesScale(rows, key) {
    const present = new Set(rows.map((r) => r[key]));
    const unknown = [...present].filter((s) => !seriesColor.has(s)).sort();
    const domain = [...allSeries.filter((s) => present.has(s)), ...unknown];
    const range = domain.map(
      (s, i) => seriesColor.get(s) ?? palette[(allSeries.length + i) % palette.length],
    );
    return { legend: true, label: 'scheme and block', domain, range };
  }
  const msTick = (ms) => fmtNs(ms * 1e6);
  const timesTick = (x) => `${x >= 1 ? d3.format('~r')(x) : d3.format('.2~r')(x)}×`;

  // Layers by shape, and shapes by model, for narrowing by model or layer.
  const layersOfShape = new Map();
  for (const layer of data.layers) {
    const list = layersOfShape.get(layer.shape) ?? [];
    list.push(layer);
    layersOfShape.set(layer.shape, list);
  }

  // --- controls ---------------------------------------------------------------------------------------
  function fill(select, options, keep) {
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

  const selDevice = el('sel-device');
  const selModel = el('sel-model');
  const selLayer = el('sel-layer');
  const selThreads = el('sel-threads');
  const selSparsity = el('sel-sparsity');

  const measuredDevices = [...new Set(cases.device)].sort((a, b) => a - b);
  fill(selDevice, [[ALL, 'all devices'], ...data.devices.map((d, i) => [String(i), d.label])], false);
  if (measuredDevices.length > 0) selDevice.value = String(measuredDevices[0]);
  fill(selModel, [[ALL, 'all models'], ...data.models.map((m) => [m, m])], false);
  if (data.models.length > 0) selModel.value = data.models[0];
  const threadValues = [...new Set(cases.threads)].sort((a, b) => a - b);
  fill(selThreads, [[ALL, 'all'], ...threadValues.map((t) => [String(t), String(t)])], false);
  if (threadValues.length > 0) selThreads.value = String(threadValues[0]);
  const sparsityValues = [
    ...new Set(cases.sparsity.filter((_s, i) => data.schemes[cases.scheme[i]] !== 'dense')),
  ].sort((a, b) => a - b);
  fill(
    selSparsity,
    sparsityValues.map((s) => [String(s), `${Math.round(s * 1000) / 10}%`]),
    false,
  );
  if (sparsityValues.length > 0)
    selSparsity.value = String(sparsityValues[Math.floor((sparsityValues.length - 1) / 2)]);

  function fillLayers() {
    const model = selModel.value;
    const layers = data.layers.filter((l) => model === ALL || l.model === model);
    const label = (l) => (model === ALL ? `${l.model}/${l.name}` : l.name);
    fill(
      selLayer,
      [[ALL, 'all layers'], ...layers.map((l) => [`${data.layers.indexOf(l)}`, label(l)])],
      true,
    );
  }
  fillLayers();

  function selection() {
    const device = selDevice.value === ALL ? null : Number(selDevice.value);
    const model = selModel.value === ALL ? null : selModel.value;
    const layer = selLayer.value === ALL ? null : data.layers[Number(selLayer.value)];
    const threads = selThreads.value === ALL ? null : Number(selThreads.value);
    const sparsity = selSparsity.value === '' ? null : Number(selSparsity.value);
    let shapes = null;
    if (layer) shapes = new Set([layer.shape]);
    else if (model !== null)
      shapes = new Set(data.layers.filter((l) => l.model === model).map((l) => l.shape));
    return { device, model, layer, threads, sparsity, shapes };
  }

  function selectedCases(sel) {
    const out = [];
    for (let i = 0; i < caseCount; i++) {
      if (sel.device !== null && cases.device[i] !== sel.device) continue;
      if (sel.threads !== null && cases.threads[i] !== sel.threads) continue;
      if (sel.shapes !== null && !sel.shapes.has(cases.shape[i])) continue;
      out.push(i);
    }
    return out;
  }

  // --- chart helpers ----------------------------------------------------------------------------------
  function show(id, node) {
    const target = el(id);
    if (!target) return;
    target.replaceChildren(node);
  }
  function empty(id, message) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = message;
    show(id, p);
  }
  function titled(title, plot) {
    const figure = document.createElement('div');
    const h = document.createElement('div');
    h.className = 'note';
    h.style.fontWeight = '600';
    h.textContent = title;
    figure.append(h, plot);
    return figure;
  }
  const width = () =>
    Math.max(640, Math.min(1300, (document.querySelector('main')?.clientWidth ?? 1000) - 20));

  // --- latency per layer -------------------------------------------------------------------------------
  function drawLatency(sel, idx) {
    const rows = [];
    for (const i of idx) {
      const dense = data.schemes[cases.scheme[i]] === 'dense';
      if (!dense && sel.sparsity !== null && cases.sparsity[i] !== sel.sparsity) continue;
      for (const layer of layersOfShape.get(cases.shape[i]) ?? []) {
        if (sel.model !== null && layer.model !== sel.model) continue;
        if (sel.layer && layer !== sel.layer) continue;
        rows.push({
          layer: sel.model === null ? `${layer.model}/${layer.name}` : layer.name,
          order: data.layers.indexOf(layer),
          series: seriesOf(i),
          device: deviceLabel(cases.device[i]),
          threads: cases.threads[i],
          ms: cases.medianNs[i] / 1e6,
          p10: cases.p10Ns[i] / 1e6,
          p90: cases.p90Ns[i] / 1e6,
        });
      }
    }
    if (rows.length === 0) return empty('chart-latency', 'No measured case for this selection.');
    const domain = [...new Map(rows.sort((a, b) => a.order - b.order).map((r) => [r.layer, r])).keys()];
    const facet = sel.device === null && new Set(rows.map((r) => r.device)).size > 1;
    const plot = Plot.plot({
      width: width(),
      height: facet ? 220 * new Set(rows.map((r) => r.device)).size : 380,
      marginBottom: 90,
      marginLeft: 70,
      x: { type: 'point', domain, label: 'layer', tickRotate: -40, padding: 0.5 },
      y: { type: 'log', label: 'median latency', grid: true, tickFormat: msTick, ticks: 6 },
      fy: facet ? { label: 'device' } : undefined,
      color: seriesScale(rows, 'series'),
      marks: [
        Plot.ruleX(rows, {
          x: 'layer',
          y1: 'p10',
          y2: 'p90',
          stroke: 'series',
          strokeOpacity: 0.5,
          fy: facet ? 'device' : undefined,
        }),
        Plot.line(rows, {
          x: 'layer',
          y: 'ms',
          z: 'series',
          stroke: 'series',
          strokeOpacity: 0.35,
          fy: facet ? 'device' : undefined,
        }),
        Plot.dot(rows, {
          x: 'layer',
          y: 'ms',
          fill: 'series',
          r: 3.5,
          fy: facet ? 'device' : undefined,
          title: (r) =>
            `${r.layer}\n${r.series}, ${r.threads} thread(s)\nmedian ${fmtNs(r.ms * 1e6)} (p10 ${fmtNs(r.p10 * 1e6)}, p90 ${fmtNs(r.p90 * 1e6)})\n${r.device}`,
        }),
      ],
    });
    const sparsityText = sel.sparsity === null ? '' : ` at ${Math.round(sel.sparsity * 1000) / 10}% sparsity`;
    show('chart-latency', titled(`Median latency per layer${sparsityText} (dense at 0%)`, plot));
  }

  // --- speedup over dense ---------------------------------------------------------------------------------
  function drawSpeedup(_sel, idx) {
    const rows = [];
    for (const i of idx) {
      const speedup = cases.speedup[i];
      if (speedup === null || data.schemes[cases.scheme[i]] === 'dense') continue;
      rows.push({
        sparsity: 1 - cases.density[i],
        requested: cases.sparsity[i],
        speedup,
        series: seriesOf(i),
        shape: data.shapes[cases.shape[i]],
      });
    }
    if (rows.length === 0)
      return empty(
        'chart-speedup',
        'No pruned case with a dense measurement of the same layer in this selection.',
      );
    const medians = [];
    for (const [series, bySparsity] of d3.group(
      rows,
      (r) => r.series,
      (r) => r.requested,
    )) {
      for (const [, group] of bySparsity) {
        medians.push({
          series,
          sparsity: d3.median(group, (r) => r.sparsity),
          speedup: d3.median(group, (r) => r.speedup),
        });
      }
    }
    medians.sort((a, b) => a.sparsity - b.sparsity);
    const maxSparsity = Math.min(0.97, Math.max(0.5, d3.max(rows, (r) => r.sparsity) ?? 0.5));
    const ideal = d3.range(0, 61).map((k) => {
      const s = (k / 60) * maxSparsity;
      return { sparsity: s, speedup: 1 / (1 - s) };
    });
    const dots = rows.length <= MAX_SPEEDUP_DOTS;
    const plot = Plot.plot({
      width: width(),
      height: 400,
      marginLeft: 60,
      x: {
        label: 'sparsity (1 − measured density)',
        domain: [0, maxSparsity],
        tickFormat: '.0%',
        grid: true,
      },
      y: { type: 'log', label: 'speedup over dense', grid: true, tickFormat: timesTick, ticks: 8 },
      color: seriesScale(rows, 'series'),
      marks: [
        Plot.ruleY([1], { stroke: '#888' }),
        Plot.line(ideal, { x: 'sparsity', y: 'speedup', stroke: '#222', strokeDasharray: '5,4' }),
        Plot.text([ideal[ideal.length - 1]], {
          x: 'sparsity',
          y: 'speedup',
          text: () => 'ideal 1/d',
          dx: -6,
          dy: -8,
          textAnchor: 'end',
        }),
        dots
          ? Plot.dot(rows, {
              x: 'sparsity',
              y: 'speedup',
              stroke: 'series',
              r: 2.5,
              strokeOpacity: 0.6,
              title: (r) =>
                `${r.shape}\n${r.series}: ${r.speedup.toFixed(2)}× at ${(r.sparsity * 100).toFixed(1)}%`,
            })
          : null,
        Plot.line(medians, {
          x: 'sparsity',
          y: 'speedup',
          z: 'series',
          stroke: 'series',
          strokeWidth: 2,
          marker: 'circle',
        }),
      ].filter(Boolean),
    });
    const caption = dots ? '' : ` (${rows.length} cases: medians only)`;
    show('chart-speedup', titled(`Speedup over dense${caption}`, plot));
  }

  // --- case table -------------------------------------------------------------------------------------------
  const caseColumns = [
    { title: 'device', value: (i) => deviceLabel(cases.device[i]) },
    { title: 'layer shape', value: (i) => data.shapes[cases.shape[i]] },
    {
      title: 'layers',
      value: (i) =>
        (layersOfShape.get(cases.shape[i]) ?? [])
          .map((l) => `${l.model}/${l.name}`)
          .slice(0, 4)
          .join(', ') + ((layersOfShape.get(cases.shape[i]) ?? []).length > 4 ? ', …' : ''),
    },
    { title: 'scheme', value: (i) => data.schemes[cases.scheme[i]] },
    { title: 'block', value: (i) => (cases.block[i] < 0 ? '—' : data.blocks[cases.block[i]]) },
    { title: 'sparsity', num: true, value: (i) => cases.sparsity[i], text: (v) => pct(v) },
    { title: 'density', num: true, value: (i) => cases.density[i], text: (v) => v.toFixed(3) },
    { title: 'threads', num: true, value: (i) => cases.threads[i], text: String },
    { title: 'median', num: true, value: (i) => cases.medianNs[i], text: fmtNs },
    { title: 'p10', num: true, value: (i) => cases.p10Ns[i], text: fmtNs },
    { title: 'p90', num: true, value: (i) => cases.p90Ns[i], text: fmtNs },
    { title: 'samples', num: true, value: (i) => cases.n[i], text: String },
    {
      title: 'speedup',
      num: true,
      value: (i) => cases.speedup[i],
      text: (v) => (v === null ? '—' : `${v.toFixed(2)}×`),
    },
    { title: 'kernel', value: (i) => data.kernels[cases.kernel[i]] },
    { title: 'agent build', value: (i) => data.agents[cases.agent[i]] },
  ];
  const caseTable = { sortColumn: 8, ascending: true, page: 0, rows: [] };

  function buildCaseHead() {
    const tr = document.createElement('tr');
    caseColumns.forEach((column, c) => {
      const th = document.createElement('th');
      th.textContent = column.title;
      if (column.num) th.className = 'num';
      th.addEventListener('click', () => {
        caseTable.ascending = caseTable.sortColumn === c ? !caseTable.ascending : true;
        caseTable.sortColumn = c;
        caseTable.page = 0;
        drawCaseTable(currentIdx);
      });
      tr.append(th);
    });
    el('cases-table').tHead.replaceChildren(tr);
  }

  function drawCaseTable(idx) {
    const needle = el('cases-filter').value.trim().toLowerCase();
    let rows = idx;
    if (needle !== '') {
      rows = idx.filter((i) =>
        caseColumns.some((column) => {
          const v = column.value(i);
          return String(column.text ? column.text(v) : v)
            .toLowerCase()
            .includes(needle);
        }),
      );
    }
    const column = caseColumns[caseTable.sortColumn];
    const direction = caseTable.ascending ? 1 : -1;
    rows = [...rows].sort((a, b) => {
      const x = column.value(a);
      const y = column.value(b);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * direction;
    });
    caseTable.rows = rows;
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
    caseTable.page = Math.min(caseTable.page, pages - 1);
    const start = caseTable.page * PAGE_ROWS;
    const body = document.createElement('tbody');
    for (const i of rows.slice(start, start + PAGE_ROWS)) {
      const tr = document.createElement('tr');
      for (const c of caseColumns) {
        const td = document.createElement('td');
        const v = c.value(i);
        td.textContent = c.text ? c.text(v) : String(v);
        if (c.num) td.className = 'num';
        tr.append(td);
      }
      body.append(tr);
    }
    el('cases-table').tBodies[0].replaceWith(body);
    for (const [c, th] of [...el('cases-table').tHead.rows[0].cells].entries())
      th.setAttribute(
        'aria-sort',
        c === caseTable.sortColumn ? (caseTable.ascending ? 'ascending' : 'descending') : 'none',
      );
    const pager = el('cases-pager');
    pager.replaceChildren();
    const info = document.createElement('span');
    info.textContent = `${rows.length} of ${caseCount} cases${pages > 1 ? ` · page ${caseTable.page + 1} of ${pages}` : ''}`;
    pager.append(info);
    if (pages > 1) {
      for (const [label, delta] of [
        ['◀ previous', -1],
        ['next ▶', 1],
      ]) {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent = label;
        button.disabled = caseTable.page + delta < 0 || caseTable.page + delta >= pages;
        button.addEventListener('click', () => {
          caseTable.page += delta;
          drawCaseTable(currentIdx);
        });
        pager.append(button);
      }
    }
  }

  // --- telemetry ------------------------------------------------------------------------------------------
  function drawTelemetry(sel) {
    const t = data.telemetry;
    const rows = [];
    for (let i = 0; i < t.atMs.length; i++) {
      if (sel.device !== null && t.device[i] !== sel.device) continue;
      rows.push({
        at: new Date(t.atMs[i]),
        device: deviceLabel(t.device[i]),
        temp: t.temperatureC[i],
        freq: t.frequencyMhz[i],
      });
    }
    const temps = rows.filter((r) => r.temp !== null);
    const freqs = rows.filter((r) => r.freq !== null);
    const common = { width: width(), height: 220, marginLeft: 60, color: { legend: true, label: 'device' } };
    if (temps.length === 0)
      empty(
        'chart-temperature',
        'No temperature readings: the selected device(s) exposed no readable thermal zone.',
      );
    else
      show(
        'chart-temperature',
        titled(
          'Temperature (hottest zone, °C)',
          Plot.plot({
            ...common,
            x: { type: 'time', label: 'time' },
            // A padded domain: a steady temperature is a flat line in the middle, not a single odd tick.
            y: {
              label: 'temperature (°C)',
              grid: true,
              domain: [
                Math.floor(d3.min(temps, (r) => r.temp) - 2),
                Math.ceil(d3.max(temps, (r) => r.temp) + 2),
              ],
              tickFormat: (d) => `${d3.format('~f')(d)} °C`,
            },
            marks: [
              Plot.line(temps, { x: 'at', y: 'temp', z: 'device', stroke: 'device' }),
              Plot.dot(temps, { x: 'at', y: 'temp', fill: 'device', r: 1.5 }),
            ],
          }),
        ),
      );
    if (freqs.length === 0)
      empty(
        'chart-frequency',
        'No frequency readings: the selected device(s) exposed no readable cpufreq files.',
      );
    else
      show(
        'chart-frequency',
        titled(
          'Frequency of the CPUs the cases ran on (MHz)',
          Plot.plot({
            ...common,
            x: { type: 'time', label: 'time' },
            y: { label: 'frequency (MHz)', grid: true, zero: true, nice: true },
            marks: [
              Plot.line(freqs, { x: 'at', y: 'freq', z: 'device', stroke: 'device' }),
              Plot.dot(freqs, { x: 'at', y: 'freq', fill: 'device', r: 1.5 }),
            ],
          }),
        ),
      );
    const waits = data.batches
      .filter((b) => sel.device === null || b.device === sel.device)
      .map((b) => ({
        at: new Date(b.atMs),
        waitS: b.thermalWaitMs / 1000,
        state: b.flag === null ? `gate: ${b.gate}` : `flagged: ${b.flag}`,
        batch: b.batchIndex,
        device: deviceLabel(b.device),
      }));
    if (waits.length === 0)
      empty(
        'chart-waits',
        'No cooling waits recorded: lab hygiene (thermal gate before each batch) runs on phones, not on the host.',
      );
    else
      show(
        'chart-waits',
        titled(
          'Wait to cool before each batch (s); flagged batches were measured again',
          Plot.plot({
            ...common,
            x: { type: 'time', label: 'batch start' },
            y: { label: 'thermal wait (s)', grid: true, zero: true },
            color: { legend: true, label: 'batch state' },
            marks: [
              Plot.ruleX(waits, { x: 'at', y1: 0, y2: 'waitS', stroke: 'state' }),
              Plot.dot(waits, {
                x: 'at',
                y: 'waitS',
                fill: 'state',
                r: 3,
                title: (w) => `${w.device}\nbatch ${w.batch}: ${w.waitS.toFixed(1)} s, ${w.state}`,
              }),
            ],
          }),
        ),
      );
  }

  // --- LUT quality -------------------------------------------------------------------------------------------
  function drawLuts(sel) {
    if (data.luts.length === 0) return;
    const deviceId = sel.device === null ? null : data.devices[sel.device]?.id;
    const luts = data.luts.filter((l) => deviceId === null || l.deviceId === deviceId);
    const pairs = luts.flatMap((l) =>
      l.pairs.map((p) => ({
        ...p,
        lut: l.deviceId,
        measuredMs: p.measuredNs / 1e6,
        predictedMs: p.predictedNs / 1e6,
        kind: p.heldOut ? 'held out (other shapes only)' : 'in-sample fit',
      })),
    );
    if (pairs.length === 0) {
      empty('chart-lut-scatter', 'No LUT of the selected device: choose "all devices" or another device.');
      empty('chart-lut-families', '');
      return;
    }
    const lo = d3.min(pairs, (p) => Math.min(p.measuredMs, p.predictedMs)) * 0.8;
    const hi = d3.max(pairs, (p) => Math.max(p.measuredMs, p.predictedMs)) * 1.25;
    const diagonal = d3.range(0, 41).map((k) => lo * (hi / lo) ** (k / 40));
    show(
      'chart-lut-scatter',
      titled(
        'Predicted against measured latency (log-log); the line is perfect prediction, the shaded band ±10%',
        Plot.plot({
          width: Math.min(width(), 760),
          height: 460,
          marginLeft: 60,
          x: { type: 'log', label: 'measured', domain: [lo, hi], grid: true, tickFormat: msTick, ticks: 6 },
          y: { type: 'log', label: 'predicted', domain: [lo, hi], grid: true, tickFormat: msTick, ticks: 6 },
          color: { legend: true, label: 'prediction' },
          marks: [
            Plot.areaY(diagonal, {
              x: (v) => v,
              y1: (v) => v * 0.9,
              y2: (v) => v * 1.1,
              fill: '#9ab',
              fillOpacity: 0.25,
            }),
            Plot.line(diagonal, { x: (v) => v, y: (v) => v, stroke: '#444' }),
            Plot.dot(pairs, {
              x: 'measuredMs',
              y: 'predictedMs',
              stroke: 'kind',
              r: 2.5,
              title: (p) =>
                `${p.family}\n${p.shapeKey} at density ${p.density}\nmeasured ${fmtNs(p.measuredNs)}, predicted ${fmtNs(p.predictedNs)}\nLUT of ${p.lut}`,
            }),
          ],
        }),
      ),
    );
    const families = luts.flatMap((l) =>
      l.families
        .filter((f) => f.within10 !== null)
        .map((f) => ({
          family: `${f.family}${luts.length > 1 ? ` (${l.deviceId})` : ''}`,
          within10: f.within10,
          mape: f.mape,
        })),
    );
    if (families.length === 0) {
      empty(
        'chart-lut-families',
        'No family has enough shapes for a held-out accuracy figure (see the table: "held out" is empty).',
      );
      return;
    }
    show(
      'chart-lut-families',
      titled(
        'Share of held-out predictions within ±10%, by predictor family',
        Plot.plot({
          width: Math.min(width(), 900),
          height: 40 + 22 * families.length,
          marginLeft: 240,
          x: { label: 'within ±10% (held out)', domain: [0, 1], tickFormat: '.0%', grid: true },
          y: { label: null },
          marks: [
            Plot.barX(families, {
              x: 'within10',
              y: 'family',
              fill: '#4a7db8',
              sort: { y: 'x' },
              title: (f) => `${f.family}: ${pct(f.within10)} within ±10%, MAPE ${pct(f.mape)}`,
            }),
            Plot.ruleX([0]),
          ],
        }),
      ),
    );
  }

  // --- mappings ------------------------------------------------------------------------------------------------
  function drawMappings(sel) {
    if (data.mappings.length === 0) return;
    const deviceId = sel.device === null ? null : data.devices[sel.device]?.id;
    const mappings = data.mappings.filter(
      (m) => (deviceId === null || m.deviceId === deviceId) && (sel.model === null || m.model === sel.model),
    );
    if (mappings.length === 0) {
      empty(
        'chart-mapping-layers',
        'No mapping for this device and model: choose "all" in the controls above.',
      );
      empty('chart-mapping-totals', '');
      return;
    }
    // One chart per mapping (not facets): each has its own layers, baselines and scale.
    const layerCharts = document.createElement('div');
    const totalCharts = document.createElement('div');
    for (const m of mappings) {
      const label = `${m.model} · ${m.mapper} mapper · ${m.deviceId}`;
      const rows = m.layers
        .filter((l) => !sel.layer || l.layer === sel.layer.name)
        .map((l) => ({
          layer: l.layer,
          scheme: l.block === null ? l.scheme : `${l.scheme} ${l.block}`,
          ms: l.predictedNs / 1e6,
          measuredMs: l.measuredNs === null ? null : l.measuredNs / 1e6,
          source: l.source,
          sparsity: l.sparsity,
        }));
      if (rows.length > 0) {
        layerCharts.append(
          titled(
            `${label}: predicted latency per layer (bars)${m.totalMeasuredNs === null ? '' : ', measured on the device (dots)'}`,
            Plot.plot({
              width: width(),
              height: 340,
              marginBottom: 90,
              marginLeft: 70,
              x: { label: 'layer', tickRotate: -40, domain: rows.map((r) => r.layer) },
              y: { label: 'latency', grid: true, tickFormat: msTick },
              color: seriesScale(rows, 'scheme'),
              marks: [
                Plot.barY(rows, {
                  x: 'layer',
                  y: 'ms',
                  fill: 'scheme',
                  title: (r) =>
                    `${r.layer}: ${r.scheme} at ${pct(r.sparsity)}\npredicted ${fmtNs(r.ms * 1e6)} (${r.source})${r.measuredMs === null ? '' : `\nmeasured ${fmtNs(r.measuredMs * 1e6)}`}`,
                }),
                Plot.dot(
                  rows.filter((r) => r.measuredMs !== null),
                  { x: 'layer', y: 'measuredMs', fill: '#000', r: 3 },
                ),
                Plot.ruleY([0]),
              ],
            }),
          ),
        );
      }
      const totals = [
        { name: `${m.mapper} mapping, predicted`, ms: m.totalPredictedNs / 1e6, kind: 'mapping (predicted)' },
        ...(m.totalMeasuredNs === null
          ? []
          : [
              {
                name: `${m.mapper} mapping, measured`,
                ms: m.totalMeasuredNs / 1e6,
                kind: 'mapping (measured)',
              },
            ]),
        ...m.baselines.map((b) => ({
          name: b.name,
          ms: b.predictedNs / 1e6,
          kind: 'uniform baseline (predicted)',
        })),
      ];
      totalCharts.append(
        titled(
          `${label}: model total against the uniform baselines`,
          Plot.plot({
            width: Math.min(width(), 900),
            height: 70 + 26 * totals.length,
            marginLeft: 240,
            x: { label: 'total latency', grid: true, tickFormat: msTick },
            y: { label: null, domain: totals.map((t) => t.name) },
            color: {
              legend: true,
              label: 'kind',
              domain: ['mapping (predicted)', 'mapping (measured)', 'uniform baseline (predicted)'],
              range: ['#2f6fb3', '#1d232b', '#b8c2cc'],
            },
            marks: [
              Plot.barX(totals, {
                x: 'ms',
                y: 'name',
                fill: 'kind',
                title: (t) => `${t.name}: ${fmtNs(t.ms * 1e6)}`,
              }),
              Plot.ruleX([0]),
            ],
          }),
        ),
      );
    }
    if (layerCharts.childElementCount === 0)
      empty('chart-mapping-layers', 'The selected layer is not in these mappings.');
    else show('chart-mapping-layers', layerCharts);
    show('chart-mapping-totals', totalCharts);
  }

  // --- nightly trends ------------------------------------------------------------------------------------------
  function drawNightly(sel) {
    const nightly = data.nightly;
    if (nightly.sentinels.length === 0) return;
    const keep = (device) => sel.device === null || device === sel.device;
    const sentinels = nightly.sentinels
      .filter((s) => keep(s.device) && s.factor !== null)
      .map((s) => ({ ...s, device: deviceLabel(s.device) }));
    // Nights are categories (one run each), not a time axis: a missed night must not stretch the chart.
    const nights = [...new Set(nightly.sentinels.map((s) => s.night))].sort();
    const nightAxis = { type: 'point', label: 'night', domain: nights, padding: 0.3 };
    if (sentinels.length === 0)
      empty('chart-nightly-sentinels', 'No sentinel factor yet: the sentinels need a few nights of history.');
    else
      show(
        'chart-nightly-sentinels',
        titled(
          "Sentinel factor per night (1 = the device's usual speed; above 1 it ran slower); hollow: the night was kept out of history",
          Plot.plot({
            width: Math.min(width(), 900),
            height: 240,
            marginLeft: 60,
            x: nightAxis,
            y: { label: 'sentinel factor', grid: true, tickFormat: timesTick },
            color: { legend: true, label: 'device' },
            marks: [
              Plot.ruleY([1], { stroke: '#888' }),
              Plot.line(sentinels, { x: 'night', y: 'factor', stroke: 'device' }),
              Plot.dot(sentinels, {
                x: 'night',
                y: 'factor',
                stroke: 'device',
                fill: (s) => (s.usable ? s.device : 'white'),
                r: 3.5,
                title: (s) => `${s.device}\n${s.night}: ${s.status}, sentinel factor ${s.factor}`,
              }),
            ],
          }),
        ),
      );
    const r = nightly.ratios;
    const rows = [];
    for (let i = 0; i < r.ratio.length; i++) {
      if (!keep(r.device[i])) continue;
      rows.push({
        night: r.night[i],
        device: deviceLabel(r.device[i]),
        label: nightly.labels[r.label[i]],
        ratio: r.ratio[i],
        threshold: r.threshold[i],
        kind: r.flagged[i] ? 'has a finding' : r.sentinel[i] ? 'sentinel' : 'case',
      });
    }
    if (rows.length === 0) {
      empty('chart-nightly-ratios', 'No case has a baseline yet: a case needs a few nights of history.');
      return;
    }
    show(
      'chart-nightly-ratios',
      titled(
        'Every case against its baseline, night by night (sentinel-normalised; log scale)',
        Plot.plot({
          width: Math.min(width(), 900),
          height: 300,
          marginLeft: 60,
          x: nightAxis,
          y: { type: 'log', label: 'latency / baseline', grid: true, tickFormat: timesTick },
          color: {
            legend: true,
            domain: ['case', 'sentinel', 'has a finding'],
            range: ['#9aa7b5', '#4a7db8', '#b3261e'],
          },
          marks: [
            Plot.ruleY([1], { stroke: '#888' }),
            Plot.dot(rows, {
              x: 'night',
              y: 'ratio',
              stroke: 'kind',
              r: (d) => (d.kind === 'has a finding' ? 4 : 2),
              title: (d) =>
                `${d.label}\n${d.device}, ${d.night}: ${d3.format('+.1%')(d.ratio - 1)} against its baseline${d.threshold === null ? '' : ` (threshold ±${d3.format('.1%')(d.threshold)})`}`,
            }),
          ],
        }),
      ),
    );
  }

  // --- static tables: sort on header click, filter from their search box ------------------------------------
  function cellKey(td) {
    const raw = td?.dataset.sort ?? td?.textContent ?? '';
    const n = Number(raw);
    return raw !== '' && Number.isFinite(n) ? n : raw.toLowerCase();
  }
  for (const table of document.querySelectorAll('table.sortable')) {
    const heads = [...table.tHead.rows[0].cells];
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
  for (const input of document.querySelectorAll('input[data-filter-for]')) {
    input.addEventListener('input', () => {
      const table = el(input.dataset.filterFor);
      const needle = input.value.trim().toLowerCase();
      for (const row of table.tBodies[0].rows)
        row.hidden = needle !== '' && !row.textContent.toLowerCase().includes(needle);
    });
  }

  // --- wiring -----------------------------------------------------------------------------------------------------
  let currentIdx = [];
  function guarded(id, draw) {
    try {
      draw();
    } catch (error) {
      console.error(`report: drawing ${id} failed`, error);
      empty(id, `This chart could not be drawn: ${error.message}`);
    }
  }
  function render() {
    const sel = selection();
    currentIdx = selectedCases(sel);
    el('selection-count').textContent = `${currentIdx.length} of ${caseCount} cases selected`;
    guarded('chart-latency', () => drawLatency(sel, currentIdx));
    guarded('chart-speedup', () => drawSpeedup(sel, currentIdx));
    guarded('cases-table', () => drawCaseTable(currentIdx));
    guarded('chart-temperature', () => drawTelemetry(sel));
    guarded('chart-lut-scatter', () => drawLuts(sel));
    guarded('chart-mapping-layers', () => drawMappings(sel));
    guarded('chart-nightly-sentinels', () => drawNightly(sel));
    document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
  }
  selModel.addEventListener('change', () => {
    fillLayers();
    render();
  });
  for (const select of [selDevice, selLayer, selThreads, selSparsity])
    select.addEventListener('change', render);
  el('cases-filter').addEventListener('input', () => {
    caseTable.page = 0;
    drawCaseTable(currentIdx);
  });
  buildCaseHead();
  render();
  // For tests and the curious: how long parsing the data and the first drawing took, in this browser.
  document.body.dataset.firstRenderMs = String(Math.round(performance.now() - scriptStartedMs));
  document.body.dataset.ready = 'true';
})();
