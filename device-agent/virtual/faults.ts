/**
 * Fault injection. A phone's faults are set from its options at start or at run time through the
 * FaultController (or, for a standalone phone, the `prunelab-fault` shell command, control-command.ts).
 *
 * Connection drops are one-shot, like a cable that is pulled once: when one fires, every live link is reset
 * (an abrupt TCP close) and the fault disarms, so the adb server can reconnect. `setOffline(true)` is the
 * lasting version: links are reset and new ones refused until `setOffline(false)`.
 */
import { PhoneOptionError } from './errors.ts';

export interface FaultSnapshot {
  /** Bytes (both directions, all links) left before the next drop; null when not armed. */
  readonly dropAfterBytes: number | null;
  /** Delay of an armed time drop; null when not armed. */
  readonly dropAfterMs: number | null;
  readonly offline: boolean;
  /** Commands matching this (JavaScript) regular expression never exit until killed. */
  readonly hangPattern: string | null;
  readonly diskFull: boolean;
  /** Current CPU temperature of the thermal model (°C) and whether a fault holds it there. */
  readonly temperatureC: number;
  readonly temperatureHeld: boolean;
}

export interface FaultController {
  /** Resets the link once `bytes` more bytes crossed it (counted both ways). */
  dropAfterBytes(bytes: number): void;
  /** Resets the link `durationMs` from now, or from the next connection when none is up. */
  dropAfterMs(durationMs: number): void;
  /** Resets every live link now. */
  dropNow(): void;
  /** Offline: live links are reset and new connections refused (a phone unplugged) until set back. */
  setOffline(offline: boolean): void;
  /** Commands whose command line matches never exit until killed; null clears. */
  hangCommands(pattern: RegExp | string | null): void;
  /** Sets the CPU temperature; from there it decays towards rest (or stays, with hold). */
  setTemperatureC(tempC: number, options?: { readonly hold?: boolean }): void;
  /** Lets a held temperature decay again. */
  releaseTemperature(): void;
  /** Full disk: sync SEND fails with `No space left on device`, new files in /data/local/tmp with ENOSPC. */
  setDiskFull(full: boolean): void;
  snapshot(): FaultSnapshot;
}

/** A link the faults can reset. */
export interface DroppableLink {
  destroy(): void;
}

export interface LinkWatch {
  /** Bytes crossed the link (either way). */
  countBytes(byteCount: number): void;
  /** The link closed on its own. */
  detach(): void;
}

/** The thermal side the controller drives (the phone's thermal model). */
export interface TemperatureControl {
  set(tempC: number, hold: boolean): void;
  release(): void;
  current(): { readonly tempC: number; readonly held: boolean };
}

export interface Timers {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface InitialFaults {
  readonly dropAfterBytes?: number;
  readonly dropAfterMs?: number;
  readonly hangCommands?: RegExp | string;
  readonly diskFull?: boolean;
}

export function compileHangPattern(pattern: RegExp | string, option = 'hangCommands'): RegExp {
  if (pattern instanceof RegExp) return pattern;
  try {
    return new RegExp(pattern);
  } catch (error) {
    throw new PhoneOptionError(
      `${option}: expected a JavaScript regular expression, got ${JSON.stringify(pattern)} (${(error as Error).message})`,
      { option, found: pattern },
      { cause: error },
    );
  }
}

function requireCount(value: number, option: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new PhoneOptionError(`${option}: expected a whole number >= 0, got ${value}`, {
      option,
      found: String(value),
    });
  }
  return value;
}

export class PhoneFaults implements FaultController {
  private readonly links = new Set<DroppableLink>();
  private remainingBytes: number | null = null;
  private dropDelayMs: number | null = null;
  private dropTimer: unknown;
  private offline = false;
  private hangPattern: RegExp | null = null;
  private diskFull = false;

  constructor(
    private readonly temperature: TemperatureControl,
    private readonly timers: Timers,
    initial: InitialFaults = {},
  ) {
    if (initial.dropAfterBytes !== undefined) this.dropAfterBytes(initial.dropAfterBytes);
    if (initial.dropAfterMs !== undefined) this.dropAfterMs(initial.dropAfterMs);
    if (initial.hangCommands !== undefined) this.hangCommands(initial.hangCommands);
    if (initial.diskFull !== undefined) this.setDiskFull(initial.diskFull);
  }

  dropAfterBytes(bytes: number): void {
    this.remainingBytes = requireCount(bytes, 'dropAfterBytes');
  }

  dropAfterMs(durationMs: number): void {
    this.dropDelayMs = requireCount(durationMs, 'dropAfterMs');
    this.cancelTimer();
    if (this.links.size > 0) this.startTimer();
  }

  dropNow(): void {
    for (const link of [...this.links]) link.destroy();
    this.links.clear();
  }

  setOffline(offline: boolean): void {
    this.offline = offline;
    if (offline) this.dropNow();
  }

  hangCommands(pattern: RegExp | string | null): void {
    this.hangPattern = pattern === null ? null : compileHangPattern(pattern);
  }

  setTemperatureC(tempC: number, options: { readonly hold?: boolean } = {}): void {
    if (!Number.isFinite(tempC)) {
      throw new PhoneOptionError(`temperatureC: expected a number of °C, got ${tempC}`, {
        option: 'temperatureC',
        found: String(tempC),
      });
    }
    this.temperature.set(tempC, options.hold ?? false);
  }

  releaseTemperature(): void {
    this.temperature.release();
  }

  setDiskFull(full: boolean): void {
    this.diskFull = full;
  }

  snapshot(): FaultSnapshot {
    const { tempC, held } = this.temperature.current();
    return {
      dropAfterBytes: this.remainingBytes,
      dropAfterMs: this.dropDelayMs,
      offline: this.offline,
      hangPattern: this.hangPattern?.source ?? null,
      diskFull: this.diskFull,
      temperatureC: tempC,
      temperatureHeld: held,
    };
  }

  // ----- used by the phone, not part of the controller -----

  acceptsConnections(): boolean {
    return !this.offline;
  }

  isDiskFull(): boolean {
    return this.diskFull;
  }

  shouldHang(commandLine: string | undefined): boolean {
    // search() ignores lastIndex, so a pattern given with the g flag still matches every time.
    return (
      commandLine !== undefined && this.hangPattern !== null && commandLine.search(this.hangPattern) >= 0
    );
  }

  /** Registers a new link; an armed time drop starts counting now if it was waiting for one. */
  attach(link: DroppableLink): LinkWatch {
    this.links.add(link);
    if (this.dropDelayMs !== null && this.dropTimer === undefined) this.startTimer();
    return {
      countBytes: (byteCount) => {
        if (this.remainingBytes === null || !this.links.has(link)) return;
        this.remainingBytes -= byteCount;
        if (this.remainingBytes <= 0) {
          this.remainingBytes = null;
          this.dropNow();
        }
      },
      detach: () => {
        this.links.delete(link);
      },
    };
  }

  dispose(): void {
    this.cancelTimer();
    this.links.clear();
  }

  private startTimer(): void {
    const delayMs = this.dropDelayMs ?? 0;
    this.dropTimer = this.timers.setTimeout(() => {
      this.dropTimer = undefined;
      this.dropDelayMs = null;
      this.dropNow();
    }, delayMs);
  }

  private cancelTimer(): void {
    if (this.dropTimer !== undefined) this.timers.clearTimeout(this.dropTimer);
    this.dropTimer = undefined;
  }
}
