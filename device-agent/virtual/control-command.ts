/**
 * The control channel of a standalone phone: `adb shell prunelab-fault VERB ARGS`, handled by the phone
 * itself rather than run on the host. Parsing is pure; `runControlCommand` applies a verb to a controller.
 *
 *   prunelab-fault status                        faults and temperature as JSON
 *   prunelab-fault drop-after-bytes N            reset the link after N more bytes
 *   prunelab-fault drop-after-ms N               reset the link N ms from now
 *   prunelab-fault offline MS                    reset the link and refuse connections for MS ms
 *   prunelab-fault hang REGEX | hang off         commands matching REGEX never exit until killed
 *   prunelab-fault temperature C [hold]          set the CPU temperature (held: no decay)
 *   prunelab-fault temperature release           let a held temperature decay
 *   prunelab-fault disk-full on|off
 *   prunelab-fault screen on|off                 power state shown by dumpsys and sysfs
 *   prunelab-fault charging on|off
 *   prunelab-fault prop KEY VALUE                set a system property (getprop)
 *
 * The verb ends at the first unquoted `;`, `&`, `|` or newline. Verbs may follow each other after `;`
 * (`prunelab-fault disk-full off; prunelab-fault status`); the rest of the line runs on the host as usual
 * with `$?` set to the last verb's exit code, so `prunelab-fault hang x; echo M$?` prints M0. Anywhere else
 * (after a pipe or &&, inside a script) the command is /system/bin/prunelab-fault, which only explains this.
 */
import type { FaultController } from './faults.ts';

export const CONTROL_COMMAND = 'prunelab-fault';

export interface SplitControl {
  readonly args: readonly string[];
  /** What follows the control verb (starting with its separator), or ''. */
  readonly rest: string;
}

/** Splits `prunelab-fault ARGS[; rest]`; undefined when the line is not a control command. */
export function splitControlCommand(commandLine: string): SplitControl | undefined {
  const start = /^\s*prunelab-fault(?=\s|$|[;&|])/.exec(commandLine);
  if (start === null) return undefined;
  const args: string[] = [];
  let current: string | undefined;
  let quote: "'" | '"' | undefined;
  let index = start[0].length;
  for (; index < commandLine.length; index++) {
    const char = commandLine[index] ?? '';
    if (quote !== undefined) {
      if (char === quote) quote = undefined;
      else current = (current ?? '') + char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      current = current ?? '';
    } else if (char === ';' || char === '&' || char === '|' || char === '\n') {
      break;
    } else if (/\s/.test(char)) {
      if (current !== undefined) args.push(current);
      current = undefined;
    } else {
      current = (current ?? '') + char;
    }
  }
  if (current !== undefined) args.push(current);
  return { args, rest: commandLine.slice(index) };
}

/** What the control channel can change besides faults. */
export interface PhoneSettings {
  setProperty(key: string, value: string): void;
  setPower(change: { readonly screenOn?: boolean; readonly charging?: boolean }): void;
  /** Offline for a while, then back (a phone unplugged and plugged back in). */
  goOfflineFor(durationMs: number): void;
}

export interface ControlResult {
  readonly output: string;
  readonly exitCode: number;
}

const USAGE = `usage: ${CONTROL_COMMAND} status | drop-after-bytes N | drop-after-ms N | offline MS | hang REGEX|off | temperature C [hold] | temperature release | disk-full on|off | screen on|off | charging on|off | prop KEY VALUE\n`;

function onOff(value: string | undefined): boolean | undefined {
  return value === 'on' ? true : value === 'off' ? false : undefined;
}

function count(value: string | undefined): number | undefined {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function runControlCommand(
  args: readonly string[],
  faults: FaultController,
  settings: PhoneSettings,
): ControlResult {
  const [verb, first, second] = args;
  const ok = (output = ''): ControlResult => ({ output, exitCode: 0 });
  const usage = (problem: string): ControlResult => ({
    output: `${CONTROL_COMMAND}: ${problem}\n${USAGE}`,
    exitCode: 2,
  });
  try {
    switch (verb) {
      case 'status':
        return ok(`${JSON.stringify(faults.snapshot())}\n`);
      case 'drop-after-bytes':
      case 'drop-after-ms':
      case 'offline': {
        const value = count(first);
        if (value === undefined)
          return usage(`${verb}: expected a whole number, got ${JSON.stringify(first ?? '')}`);
        if (verb === 'drop-after-bytes') faults.dropAfterBytes(value);
        else if (verb === 'drop-after-ms') faults.dropAfterMs(value);
        else settings.goOfflineFor(value);
        return ok();
      }
      case 'hang':
        if (first === undefined) return usage('hang: expected a regular expression or off');
        faults.hangCommands(first === 'off' ? null : first);
        return ok();
      case 'temperature': {
        if (first === 'release') {
          faults.releaseTemperature();
          return ok();
        }
        const tempC = first === undefined ? Number.NaN : Number(first);
        if (!Number.isFinite(tempC))
          return usage(`temperature: expected °C or release, got ${JSON.stringify(first ?? '')}`);
        if (second !== undefined && second !== 'hold')
          return usage(`temperature: expected hold or nothing after °C, got ${JSON.stringify(second)}`);
        faults.setTemperatureC(tempC, { hold: second === 'hold' });
        return ok();
      }
      case 'disk-full':
      case 'screen':
      case 'charging': {
        const value = onOff(first);
        if (value === undefined)
          return usage(`${verb}: expected on or off, got ${JSON.stringify(first ?? '')}`);
        if (verb === 'disk-full') faults.setDiskFull(value);
        else settings.setPower(verb === 'screen' ? { screenOn: value } : { charging: value });
        return ok();
      }
      case 'prop':
        if (first === undefined || second === undefined) return usage('prop: expected KEY VALUE');
        settings.setProperty(first, second);
        return ok();
      default:
        return usage(verb === undefined ? 'expected a verb' : `unknown verb ${JSON.stringify(verb)}`);
    }
  } catch (error) {
    return { output: `${CONTROL_COMMAND}: ${(error as Error).message}\n`, exitCode: 1 };
  }
}
