/**
 * The report page: one self-contained HTML string (styles, d3, Observable Plot, the page script and the data
 * inline), readable from file:// with no network. Pure: data and library sources in, a string out.
 *
 * Provenance tables are written here, escaped; charts and the case table are drawn by the page script
 * (bundled from reports/client/) from the embedded data block, so the controls can narrow them to a
 * device, model or layer without a server.
 */
import { type EmbeddedData, embedData } from './aggregate.ts';
import { backendSection } from './backend-section.ts';
import { escapeHtml, jsonForScript, scriptForInline } from './escape.ts';
import { formatDurationMs, formatNs, formatPercent, spanMs } from './format.ts';
import { card, chartSection, table, text } from './html.ts';
import { measuredTableSection } from './measured-table-section.ts';
import { modelNodesSection } from './model-nodes-section.ts';
import { nightlySection } from './nightly-section.ts';
import type { ReportAssets, ReportDevice, ReportInput } from './types.ts';

export const REPORT_DATA_ELEMENT_ID = 'prunelab-report-data';

const STYLE = `
:root { --fg:#1d232b; --muted:#5b6673; --line:#d8dee6; --bg:#ffffff; --panel:#f5f7fa; --accent:#2f6fb3; --bad:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
header.top { padding:18px 28px 12px; border-bottom:1px solid var(--line); }
header.top h1 { margin:0 0 4px; font-size:22px; }
header.top .sub { color:var(--muted); }
nav.toc { padding:6px 28px; border-bottom:1px solid var(--line); font-size:13px; }
nav.toc a { margin-right:14px; color:var(--accent); text-decoration:none; }
main { padding:0 28px 40px; max-width:1400px; }
section { margin-top:28px; }
h2 { font-size:18px; border-bottom:2px solid var(--fg); padding-bottom:3px; margin:0 0 10px; }
h3 { font-size:15px; margin:18px 0 6px; }
p.note, .note { color:var(--muted); font-size:13px; margin:4px 0 8px; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin:8px 0 14px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:8px 14px; min-width:120px; }
.card .v { font-size:20px; font-weight:600; }
.card .k { color:var(--muted); font-size:12px; }
.card.bad .v { color:var(--bad); }
table { border-collapse:collapse; font-size:12.5px; margin:4px 0 8px; }
th, td { border-bottom:1px solid var(--line); padding:3px 8px; text-align:left; vertical-align:top; }
th { background:var(--panel); position:sticky; top:0; white-space:nowrap; }
table.sortable th { cursor:pointer; user-select:none; }
table.sortable th[aria-sort="ascending"]::after { content:" ▲"; }
table.sortable th[aria-sort="descending"]::after { content:" ▼"; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
td.mono, .mono { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:12px; }
td.wrap { max-width:520px; word-break:break-word; }
.table-wrap { max-height:460px; overflow:auto; border:1px solid var(--line); border-radius:4px; width:fit-content; max-width:100%; }
.filter-input { display:block; margin:4px 0; padding:3px 6px; width:280px; font:inherit; }
.controls { position:sticky; top:0; z-index:5; background:#fffffff0; border-bottom:1px solid var(--line); padding:8px 0; display:flex; flex-wrap:wrap; gap:14px; align-items:center; }
.controls label { font-size:13px; color:var(--muted); }
.controls select { font:inherit; margin-left:4px; max-width:340px; }
.chart { margin:6px 0 4px; min-height:40px; }
.chart figure { margin:0; }
.empty { color:var(--muted); font-style:italic; padding:8px 0; }
details pre { background:var(--panel); padding:10px; border-radius:4px; max-height:420px; overflow:auto; font-size:12px; }
.pager { font-size:12.5px; color:var(--muted); margin:4px 0; }
.pager button { font:inherit; margin:0 4px; }
footer { color:var(--muted); font-size:12px; padding:18px 28px; border-top:1px solid var(--line); }
`;

/** One line per gap: how long the device was away, flaps, and a build change, which splits its results. */
function gapsText(device: ReportDevice): string {
  if (device.gaps.length === 0) return 'none';
  return device.gaps
    .map((gap) => {
      const awayMs = spanMs(gap.lostAt, gap.backAt);
      const away =
        gap.backAt === null || awayMs === null ? 'never back' : `back after ${formatDurationMs(awayMs)}`;
      const flaps = gap.flaps === 0 ? '' : `, lost ${gap.flaps} more time(s) while being prepared`;
      const build =
        gap.fingerprintAfter === null || gap.fingerprintAfter === gap.fingerprintBefore
          ? ''
          : `; BUILD CHANGED from ${gap.fingerprintBefore} to ${gap.fingerprintAfter}: results before and after are not one population`;
      return `lost at ${gap.lostAt}, ${away}${flaps}${build}`;
    })
    .join('\n');
}

function labText(device: ReportDevice): string {
  if (device.lab === null) return '—';
  const { lab } = device;
  const flag = (value: boolean | null) => (value === null ? '?' : value ? 'yes' : 'no');
  return [
    `screen on: ${flag(lab.screenOn)}`,
    `charging: ${flag(lab.charging)}`,
    `battery: ${lab.batteryLevel ?? '?'}%`,
    `root: ${lab.root}`,
    `big CPUs: ${lab.bigCpus === null ? '?' : lab.bigCpus.join(',')}`,
  ].join('; ');
}

function overviewSection(input: ReportInput): string {
  const { run } = input;
  const counts = (status: string) => run.counts[status] ?? 0;
  const wallMs = spanMs(run.createdAt, run.finishedAt);
  const totalTasks = Object.values(run.counts).reduce((sum, n) => sum + n, 0);
  const cards = [
    card('cases measured', `${counts('done')} / ${totalTasks}`),
    card('failed', String(counts('failed')), counts('failed') > 0),
    card('skipped', String(counts('skipped')), counts('skipped') > 0),
    card('pending', String(counts('pending') + counts('running')), counts('pending') + counts('running') > 0),
    card('devices', String(input.devices.length)),
    card('wall time', wallMs === null ? 'unfinished' : formatDurationMs(wallMs)),
  ].join('');
  const runRows: [string, string][] = [
    ['run', text(run.id)],
    ['status', text(run.status)],
    ['started', text(run.createdAt)],
    ['finished', text(run.finishedAt)],
    ['host (orchestrator)', text(run.host)],
    ['git revision', `<span class="mono">${text(run.gitRevision ?? 'unknown (not a git checkout)')}</span>`],
    ['config hash', `<span class="mono">${text(run.configHash)}</span>`],
    ['report generated', text(input.generatedAt)],
  ];
  const runTable = `<table>${runRows.map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>`;

  const devices = table(
    'devices-table',
    input.devices,
    [
      { title: 'device id', cell: (d) => `<span class="mono">${text(d.id)}</span>`, sort: (d) => d.id },
      { title: 'kind', cell: (d) => text(d.kind) },
      { title: 'model', cell: (d) => text(d.model) },
      { title: 'ABI', cell: (d) => text(d.abi) },
      { title: 'build fingerprint', cell: (d) => text(d.buildFingerprint), className: 'wrap' },
      { title: 'CPUs', cell: (d) => text(d.cpuCount), sort: (d) => d.cpuCount, className: 'num' },
      { title: 'measured by host(s)', cell: (d) => text(d.hosts.join(', ') || '—') },
      {
        title: 'agent build(s)',
        cell: (d) => `<span class="mono">${text(d.agentHashes.join(', ') || '—')}</span>`,
      },
      {
        title: 'agent sampling time',
        cell: (d) => text(d.samplingMs === null ? null : formatDurationMs(d.samplingMs)),
        sort: (d) => d.samplingMs,
        className: 'num',
      },
      { title: 'first case at', cell: (d) => text(d.firstMeasuredAt) },
      {
        title: 'first to last case',
        cell: (d) => {
          const ms = spanMs(d.firstMeasuredAt, d.lastMeasuredAt);
          return ms === null ? '—' : escapeHtml(formatDurationMs(ms));
        },
        sort: (d) => spanMs(d.firstMeasuredAt, d.lastMeasuredAt),
        className: 'num',
      },
      {
        title: 'thermal waits',
        cell: (d) => escapeHtml(formatDurationMs(d.thermalWaitMs)),
        sort: (d) => d.thermalWaitMs,
        className: 'num',
      },
      {
        title: 'disturbed cases',
        cell: (d) =>
          escapeHtml(
            d.remeasuredCases === 0 && d.disturbedCases === 0
              ? 'none'
              : `${d.remeasuredCases} measured again, ${d.disturbedCases} still disturbed`,
          ),
        sort: (d) => d.disturbedCases,
        className: 'num',
      },
      { title: 'connection gaps', cell: (d) => text(gapsText(d)), className: 'wrap' },
      { title: 'lab state', cell: (d) => text(labText(d)), className: 'wrap' },
    ],
    false,
  );

  const builds =
    input.agentBuilds.length === 0
      ? '<p class="empty">No agent build recorded for this run.</p>'
      : table(
          'builds-table',
          input.agentBuilds,
          [
            { title: 'agent hash', cell: (b) => `<span class="mono">${text(b.hash)}</span>` },
            { title: 'ABI', cell: (b) => text(b.abi) },
            { title: 'compiler', cell: (b) => text(b.compiler), className: 'wrap' },
            { title: 'flags', cell: (b) => `<span class="mono">${text(b.flags)}</span>`, className: 'wrap' },
          ],
          false,
        );

  const capped =
    input.failuresTotal > input.failures.length
      ? `<p class="note">The first ${input.failures.length} of ${input.failuresTotal} are listed; the store's <span class="mono">tasks</span> and <span class="mono">failures</span> tables hold them all.</p>`
      : '';
  const failures =
    input.failures.length === 0
      ? '<p class="empty">No case failed, was retried or was skipped.</p>'
      : capped +
        table(
          'failures-table',
          input.failures,
          [
            { title: 'status', cell: (f) => text(f.status) },
            { title: 'device', cell: (f) => `<span class="mono">${text(f.deviceId)}</span>` },
            { title: 'case', cell: (f) => text(f.caseLabel), className: 'wrap' },
            { title: 'reason', cell: (f) => text(f.reason) },
            { title: 'message', cell: (f) => text(f.message), className: 'wrap' },
            { title: 'attempts', cell: (f) => text(f.attempts), sort: (f) => f.attempts, className: 'num' },
            { title: 'at', cell: (f) => text(f.at) },
          ],
          true,
        );

  const dropped =
    input.dropped.length === 0
      ? '<p class="empty">The planner dropped no case.</p>'
      : table(
          'dropped-table',
          input.dropped,
          [
            { title: 'cases', cell: (d) => text(d.count), sort: (d) => d.count, className: 'num' },
            { title: 'why they cannot exist', cell: (d) => text(d.reason), className: 'wrap' },
            { title: 'example', cell: (d) => text(d.example), className: 'wrap' },
          ],
          false,
        );

  return `<section id="overview">
<h2>Run overview and provenance</h2>
<div class="cards">${cards}</div>
${runTable}
<h3>Devices</h3>
<p class="note">Every figure below was measured on one of these devices, by the agent build named here.</p>
${devices}
<h3>Agent builds</h3>
${builds}
<h3>Configuration</h3>
<details><summary>The resolved configuration the run was planned from (hash ${escapeHtml(input.run.configHash)})</summary><pre>${escapeHtml(JSON.stringify(input.run.config, null, 2))}</pre></details>
<h3>Failed, retried and skipped cases</h3>
${failures}
<h3>Cases dropped by the planner</h3>
${dropped}
</section>`;
}

function controls(): string {
  const select = (id: string, label: string) =>
    `<label for="${id}">${escapeHtml(label)}<select id="${id}"></select></label>`;
  return `<div class="controls" role="group" aria-label="narrow the charts">
${select('sel-device', 'device')}
${select('sel-model', 'model')}
${select('sel-layer', 'layer')}
${select('sel-threads', 'threads')}
${select('sel-sparsity', 'sparsity (latency chart)')}
<span class="note" id="selection-count"></span>
</div>`;
}

function lutSection(input: ReportInput): string {
  if (input.luts.length === 0) {
    return `<section id="lut"><h2>LUT quality</h2><p class="empty">No LUT given. Fit one with <span class="mono">prunelab fit</span> and pass it with <span class="mono">prunelab report --lut lut-DEVICE.json</span>.</p></section>`;
  }
  const tables = input.luts
    .map((lut, i) => {
      const head = `<h3>${text(lut.deviceId)}${lut.deviceModel === null ? '' : ` — ${text(lut.deviceModel)}`}</h3>
<p class="note">${text(lut.source)}: ${lut.entries} entries, agent <span class="mono">${text(lut.agentHash)}</span>, fitted ${text(lut.createdAt)}.</p>`;
      return (
        head +
        table(
          `lut-families-${i}`,
          lut.families,
          [
            {
              title: 'family',
              cell: (f) => `<span class="mono">${text(f.family)}</span>`,
              sort: (f) => f.family,
            },
            { title: 'shapes', cell: (f) => text(f.shapes), sort: (f) => f.shapes, className: 'num' },
            { title: 'points', cell: (f) => text(f.points), sort: (f) => f.points, className: 'num' },
            { title: 'model', cell: (f) => text(f.modelKind) },
            { title: 'held out', cell: (f) => text(f.heldOut), sort: (f) => f.heldOut, className: 'num' },
            {
              title: 'within ±10%',
              cell: (f) => escapeHtml(formatPercent(f.within10)),
              sort: (f) => f.within10,
              className: 'num',
            },
            {
              title: 'MAPE',
              cell: (f) => escapeHtml(formatPercent(f.mape)),
              sort: (f) => f.mape,
              className: 'num',
            },
            {
              title: 'interpolation within ±10%',
              cell: (f) => escapeHtml(formatPercent(f.interpolationWithin10)),
              sort: (f) => f.interpolationWithin10,
              className: 'num',
            },
          ],
          true,
        )
      );
    })
    .join('\n');
  return chartSection(
    'lut',
    'LUT quality',
    'Predicted against measured latency for every measured knot of each LUT. Held-out points were predicted by a model fitted without their layer shape (leave-one-shape-out, the accuracy figure the LUT reports); families with too few shapes for that show in-sample fits, marked as such. The shaded band is ±10%.',
    ['chart-lut-scatter', 'chart-lut-families'],
    tables,
  );
}

function mappingSection(input: ReportInput): string {
  if (input.mappings.length === 0) {
    return `<section id="mappings"><h2>Mappings</h2><p class="empty">No mapping given. Pass mapping files with <span class="mono">prunelab report --mapping mapping.json</span>.</p></section>`;
  }
  const tables = input.mappings
    .map((mapping, i) => {
      const verified =
        mapping.totalMeasuredNs === null
          ? 'not verified on the device'
          : `verified: measured ${formatNs(mapping.totalMeasuredNs)} (${((mapping.totalMeasuredNs / mapping.totalPredictedNs - 1) * 100).toFixed(1)}% against predicted)`;
      return `<h3>${text(mapping.model)} on ${text(mapping.deviceId)} — ${text(mapping.mapper)} mapper</h3>
<p class="note">${text(mapping.source)}: predicted total ${escapeHtml(formatNs(mapping.totalPredictedNs))}, ${escapeHtml(verified)}${mapping.proxy === null ? '' : `, accuracy proxy kept ${escapeHtml(formatPercent(mapping.proxy))}`}.</p>
${table(
  `mapping-layers-${i}`,
  mapping.layers,
  [
    { title: 'layer', cell: (l) => text(l.layer) },
    { title: 'scheme', cell: (l) => text(l.scheme) },
    { title: 'block', cell: (l) => text(l.block) },
    {
      title: 'sparsity',
      cell: (l) => escapeHtml(formatPercent(l.sparsity)),
      sort: (l) => l.sparsity,
      className: 'num',
    },
    {
      title: 'predicted',
      cell: (l) => escapeHtml(formatNs(l.predictedNs)),
      sort: (l) => l.predictedNs,
      className: 'num',
    },
    { title: 'source', cell: (l) => text(l.source) },
    {
      title: 'measured',
      cell: (l) => (l.measuredNs === null ? '—' : escapeHtml(formatNs(l.measuredNs))),
      sort: (l) => l.measuredNs,
      className: 'num',
    },
    {
      title: 'proxy (kept weight energy)',
      cell: (l) => escapeHtml(formatPercent(l.proxy)),
      sort: (l) => l.proxy,
      className: 'num',
    },
  ],
  true,
)}${mapping.measuredTable === null ? '' : `\n${measuredTableSection(mapping.measuredTable, `mapping-measured-${i}`)}`}`;
    })
    .join('\n');
  return chartSection(
    'mappings',
    'Mappings',
    'Per-layer choice of each mapping, its predicted (and, when verified, measured) latency, and its total against the uniform baselines; with `map --evaluate-with`, the mapping and the uniform baselines measured at equal accuracy drop.',
    ['chart-mapping-layers', 'chart-mapping-totals'],
    tables,
  );
}

/** The whole page. */
export function renderReport(input: ReportInput, assets: ReportAssets): string {
  const data: EmbeddedData = embedData(input);
  const title = `prunelab report — run ${input.run.id}`;
  const sub = `${input.run.status} · ${input.devices.map((d) => d.model).join(', ') || 'no device'} · ${input.cases.length} cases measured`;
  const measured = chartSection(
    'latency',
    'Latency per layer by scheme and block',
    'Median latency of each layer (log scale) at the sparsity chosen above, one colour per scheme and block; the whiskers span the 10th to 90th percentile of the samples. Dense is shown at every sparsity as the baseline.',
    ['chart-latency'],
  );
  const speedup = chartSection(
    'speedup',
    'Speedup over dense against sparsity',
    'Dense median divided by the pruned median of the same layer shape on the same device and thread count. The dashed curve is the ideal 1/d (d = density): a pruned compute-bound layer cannot beat it. Lines join the medians over the selected layers.',
    ['chart-speedup'],
  );
  const cases = `<section id="cases"><h2>Measured cases</h2>
<p class="note">One row per case and device: statistics of its samples (the raw samples stay in the store; <span class="mono">prunelab export</span> writes them). Click a column to sort; the box filters on any text; the controls above narrow it too.</p>
<input class="filter-input" type="search" id="cases-filter" placeholder="filter cases…" aria-label="filter cases">
<div class="pager" id="cases-pager"></div>
<div class="table-wrap"><table id="cases-table" class="sortable-dynamic"><thead></thead><tbody></tbody></table></div>
</section>`;
  const telemetry = chartSection(
    'telemetry',
    'Telemetry over the run',
    `Hottest thermal zone and mean frequency of the CPUs each case ran on, as the agent read them after the case (downsampled to at most ${escapeHtml(600)} points per device: hottest and slowest of each bucket), and the time each batch waited to cool.`,
    ['chart-temperature', 'chart-frequency', 'chart-waits'],
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header class="top"><h1>${escapeHtml(title)}</h1><div class="sub">${escapeHtml(sub)}</div></header>
<nav class="toc"><a href="#overview">Overview</a><a href="#models">Models</a><a href="#latency">Latency</a><a href="#speedup">Speedup</a><a href="#cases">Cases</a><a href="#telemetry">Telemetry</a><a href="#lut">LUT quality</a><a href="#mappings">Mappings</a><a href="#nightly">Nightly trends</a></nav>
<main>
${overviewSection(input)}
${modelNodesSection(input.modelNodes)}
${controls()}
${measured}
${speedup}
${cases}
${backendSection(input.cases)}
${telemetry}
${lutSection(input)}
${mappingSection(input)}
${nightlySection(input)}
</main>
<footer>Generated by prunelab at ${escapeHtml(input.generatedAt)}. Self-contained: charts by Observable Plot and d3, inlined; no network access.</footer>
<script type="application/json" id="${REPORT_DATA_ELEMENT_ID}">${jsonForScript(data)}</script>
<script>${scriptForInline(assets.d3Js)}</script>
<script>${scriptForInline(assets.plotJs)}</script>
<script>${scriptForInline(assets.clientJs)}</script>
</body>
</html>
`;
}
