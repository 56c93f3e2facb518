/**
 * The agent's probe around a case as the store keeps it (measurements.probe_before_ns / probe_after_ns,
 * device-agent/src/probe.h). Pure: the scheduler's re-measure, the fit and the report judge disturbance with
 * these, so they read the same probes the same way.
 */

export interface ProbeColumns {
  readonly probe_before_ns?: number | null;
  readonly probe_after_ns?: number | null;
}

/** The probes a measurement has: none from an agent that did not report them. */
export function probesOf(row: ProbeColumns): number[] {
  return [row.probe_before_ns, row.probe_after_ns].filter((v): v is number => v != null && v > 0);
}

/** The slower of a measurement's two probes (undefined when the agent reported none). */
export function probeMaxNs(row: ProbeColumns): number | undefined {
  const probes = probesOf(row);
  return probes.length === 0 ? undefined : Math.max(...probes);
}

/** The fastest probe over some measurements (a run's calm reference on a device); undefined without probes. */
export function fastestProbeNs(rows: readonly ProbeColumns[]): number | undefined {
  let fastest: number | undefined;
  for (const row of rows) for (const probe of probesOf(row)) fastest = Math.min(fastest ?? probe, probe);
  return fastest;
}
