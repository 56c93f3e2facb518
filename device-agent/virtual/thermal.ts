/**
 * The virtual phone's temperature: a first-order (Newton) model, pure, driven by an explicit clock.
 *
 *   dT/dt = heatingCPerS * activeCommands - (T - restingC) / coolingTauS,   T <= maxC
 *
 * With the number of running commands constant over a step, the solution is exact: T relaxes towards
 * T∞ = restingC + heatingCPerS * activeCommands * coolingTauS with time constant coolingTauS. A phone left
 * alone cools towards restingC; a busy one warms up; a value set by a fault decays like real heat, or stays
 * put when held. Nothing here claims to be a real phone's thermal behaviour: it is there to drive the lab's
 * thermal gating in tests.
 */

export interface ThermalParams {
  /** Temperature of an idle phone, long after its last command (°C). */
  readonly restingC: number;
  /** Warming rate per running command, before cooling is subtracted (°C/s). */
  readonly heatingCPerS: number;
  /** Time constant of cooling towards restingC (s). */
  readonly coolingTauS: number;
  /** Ceiling of the model (°C). */
  readonly maxC: number;
  /** At or above this, the big cluster's scaling_cur_freq drops to throttledFreqShare of its maximum. */
  readonly throttleC: number;
  readonly throttledFreqShare: number;
}

/**
 * Gentle defaults so that other tests' sweeps are not slowed by the lab's cooling waits: one running command
 * settles 3 °C above a 25 °C desk, four settle at 37 °C. Tests that exercise gating set the temperature.
 */
export const DEFAULT_THERMAL_PARAMS: ThermalParams = {
  restingC: 25,
  heatingCPerS: 0.3,
  coolingTauS: 10,
  maxC: 95,
  throttleC: 45,
  throttledFreqShare: 0.6,
};

export interface ThermalState {
  readonly tempC: number;
  readonly atMs: number;
  /** Set by a fault that holds the temperature: the model then neither heats nor cools. */
  readonly heldC: number | undefined;
}

export function initialThermalState(params: ThermalParams, nowMs: number, startC?: number): ThermalState {
  return { tempC: clamp(startC ?? params.restingC, params), atMs: nowMs, heldC: undefined };
}

/** The state at `nowMs`, given that `activeCommands` ran since the state's time. */
export function advanceThermal(
  params: ThermalParams,
  state: ThermalState,
  nowMs: number,
  activeCommands: number,
): ThermalState {
  if (state.heldC !== undefined) return { ...state, tempC: state.heldC, atMs: nowMs };
  const elapsedS = Math.max(0, nowMs - state.atMs) / 1000;
  const steadyC = params.restingC + params.heatingCPerS * activeCommands * params.coolingTauS;
  const tempC = steadyC + (state.tempC - steadyC) * Math.exp(-elapsedS / params.coolingTauS);
  return { tempC: clamp(tempC, params), atMs: nowMs, heldC: undefined };
}

/** A fault sets the temperature: from there it decays (or, held, stays). */
export function setThermal(params: ThermalParams, nowMs: number, tempC: number, hold: boolean): ThermalState {
  const clamped = clamp(tempC, params);
  return { tempC: clamped, atMs: nowMs, heldC: hold ? clamped : undefined };
}

export function releaseThermal(state: ThermalState): ThermalState {
  return { ...state, heldC: undefined };
}

function clamp(tempC: number, params: ThermalParams): number {
  return Math.min(params.maxC, tempC);
}
