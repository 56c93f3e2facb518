/**
 * The "Nightly trends" section: per device, its last nights (sentinel factor, status, what was found), a
 * table of findings, and two charts the page script draws (sentinel factor over nights; every case's
 * normalised ratio to its baseline, night by night). Pure.
 */
import { escapeHtml } from './escape.ts';
import { formatPercent } from './format.ts';
import { card, table, text } from './html.ts';
import type { ReportInput, ReportNightlyDevice, ReportNightlyFinding, ReportNightlyNight } from './types.ts';

/** Findings that mean "look at this" (the others are information: an update, an improvement). */
const BAD_KINDS = new Set(['regression', 'device-slower', 'unfit', 'lab-trouble']);

/** `+12.3%` / `-4.0%` for a ratio of 1.123 / 0.96. */
export function formatChange(ratio: number | null): string {
  if (ratio === null) return '—';
  const change = (ratio - 1) * 100;
  return `${change >= 0 ? '+' : ''}${change.toFixed(1)}%`;
}

interface FindingRow extends ReportNightlyFinding {
  readonly deviceId: string;
  readonly night: string;
}

interface NightRow extends ReportNightlyNight {
  readonly deviceId: string;
}

function findingRows(devices: readonly ReportNightlyDevice[]): FindingRow[] {
  return devices.flatMap((device) =>
    device.nights.flatMap((night) =>
      night.findings.map((finding) => ({ ...finding, deviceId: device.deviceId, night: night.night })),
    ),
  );
}

/** Regressions and improvements count once confirmed; the other kinds are facts of the night. */
function counts(finding: ReportNightlyFinding): boolean {
  return finding.confirmed || (finding.kind !== 'regression' && finding.kind !== 'improvement');
}

function countKind(rows: readonly FindingRow[], kind: string): number {
  return rows.filter((row) => row.kind === kind && counts(row)).length;
}

function nightsTable(devices: readonly ReportNightlyDevice[]): string {
  const rows: NightRow[] = devices.flatMap((device) =>
    device.nights.map((night) => ({ ...night, deviceId: device.deviceId })),
  );
  return table(
    'nightly-nights',
    rows,
    [
      { title: 'night', cell: (r) => text(r.night), sort: (r) => r.night },
      {
        title: 'device',
        cell: (r) => `<span class="mono">${text(r.deviceId)}</span>`,
        sort: (r) => r.deviceId,
      },
      { title: 'status', cell: (r) => text(r.status) },
      {
        title: 'sentinel factor',
        cell: (r) => text(r.sentinelFactor === null ? null : r.sentinelFactor.toFixed(3)),
        sort: (r) => r.sentinelFactor,
        className: 'num',
      },
      {
        title: 'sentinel spread',
        cell: (r) => escapeHtml(formatPercent(r.sentinelSpread)),
        sort: (r) => r.sentinelSpread,
        className: 'num',
      },
      { title: 'in history', cell: (r) => (r.usable ? 'yes' : 'no (lab trouble or unfit)') },
      { title: 'agent', cell: (r) => `<span class="mono">${text(r.agentHash)}</span>` },
      { title: 'build fingerprint', cell: (r) => text(r.fingerprint), className: 'wrap' },
      { title: 'cases', cell: (r) => text(r.cases.length), sort: (r) => r.cases.length, className: 'num' },
      {
        title: 'findings',
        cell: (r) => text(r.findings.map((f) => f.kind).join(', ') || '—'),
      },
    ],
    true,
  );
}

function findingsTable(rows: readonly FindingRow[]): string {
  if (rows.length === 0) return '<p class="empty">Nothing found on any of these nights.</p>';
  return table(
    'nightly-findings',
    rows,
    [
      { title: 'night', cell: (r) => text(r.night), sort: (r) => r.night },
      {
        title: 'device',
        cell: (r) => `<span class="mono">${text(r.deviceId)}</span>`,
        sort: (r) => r.deviceId,
      },
      { title: 'kind', cell: (r) => text(r.kind) },
      { title: 'confirmed', cell: (r) => (r.confirmed ? 'yes' : 'no') },
      { title: 'case', cell: (r) => text(r.caseLabel), className: 'wrap' },
      {
        title: 'change',
        cell: (r) => escapeHtml(formatChange(r.ratio)),
        sort: (r) => r.ratio,
        className: 'num',
      },
      {
        title: 'threshold',
        cell: (r) => text(r.threshold === null ? null : `±${(r.threshold * 100).toFixed(1)}%`),
        sort: (r) => r.threshold,
        className: 'num',
      },
      { title: 'what happened', cell: (r) => text(r.message), className: 'wrap' },
    ],
    true,
  );
}

export function nightlySection(input: ReportInput): string {
  const devices = input.nightly;
  if (devices.length === 0) {
    return `<section id="nightly"><h2>Nightly trends</h2><p class="empty">No nightly run in this store. <span class="mono">prunelab nightly</span> writes them (see its --help for the cron and systemd entries).</p></section>`;
  }
  const findings = findingRows(devices);
  const nights = new Set(devices.flatMap((d) => d.nights.map((n) => n.nightlyRunId)));
  const unusable = devices.reduce((sum, d) => sum + d.nights.filter((n) => !n.usable).length, 0);
  const regressions = countKind(findings, 'regression');
  const cards = [
    card('nights', String(nights.size)),
    card('devices', String(devices.length)),
    card('confirmed regressions', String(regressions), regressions > 0),
    card('improvements', String(countKind(findings, 'improvement'))),
    card('updates', String(countKind(findings, 'updated'))),
    card('device-nights out of history', String(unusable), unusable > 0),
  ].join('');
  const attention = findings.filter((f) => BAD_KINDS.has(f.kind) && counts(f)).length;
  return `<section id="nightly">
<h2>Nightly trends</h2>
<p class="note">Each night's cases are divided by the device's sentinel factor (its sentinels tonight over their history: a hot or throttled phone slows them all alike) and compared with their own history; the threshold of a case is a multiple of its history's robust spread. A fingerprint change starts a new history.</p>
<div class="cards">${cards}</div>
<div class="chart" id="chart-nightly-sentinels"></div>
<div class="chart" id="chart-nightly-ratios"></div>
<h3>Findings</h3>
<p class="note">${attention === 0 ? 'Nothing needs attention.' : `${attention} confirmed finding(s) need attention.`} A regression is reported only when the re-measure, interleaved with the previous night's build when it is cached, is again beyond the case's threshold.</p>
${findingsTable(findings)}
<h3>Nights</h3>
${nightsTable(devices)}
</section>`;
}
