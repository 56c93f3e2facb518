/**
 * How a command runs through `mobile: shell` (pure). One `mobile: shell` call is one HTTP request that
 * webdriverio may re-send and that Appium bounds with a timeout, so a command never runs inside one: it
 * runs as a detached job on the phone and short calls collect its output (README.md).
 *
 * Files of a job, in its own folder `<dir>` (a random nonce in its name):
 *   in    the command's stdin
 *   job   the script `setsid sh job` runs: `echo $$ >pid`, a watchdog, `( CMD ) <in >out 2>err`, then the
 *         exit status into `exit` (written to a temporary name and renamed, so it is never seen half-written)
 * `in` and `job` are written by the start script from here-documents, or pushed first when that script
 * would be too long for adb (MAX_CALL_SCRIPT_BYTES).
 *   pid   the job's PID, which is also its process group (setsid), so a kill takes its children along
 * The watchdog kills the group when the host is gone (a killed orchestrator) and nobody ever kills it.
 *
 * Every call prints `<M>H <exit or -> <stdout size>`, the stdout bytes from the host's offset, then
 * `<M>C` (finished and cleaned: stderr's tail follows, the folder is removed) or `<M>E` (more to come).
 * `<M>` holds a random nonce, so no output of the command can fake it.
 */
import { shellQuote } from '../android/shell-quote.ts';
import type { Command } from '../port.ts';
import { STDERR_KEEP_BYTES } from '../port.ts';

/** Stdout bytes one call brings back at most: a chatty command is read over several calls. */
export const CHUNK_MAX_BYTES = 1024 * 1024;
/**
 * Longest script one `mobile: shell` call may carry. The adb client refuses a shell command over about
 * 4 KiB on a device without shell v2 ("error: shell command too long", adb's MAX_PAYLOAD_V1), and the
 * driver runs `adb shell <script>`; a longer job or stdin is pushed as a file instead.
 */
export const MAX_CALL_SCRIPT_BYTES = 3_500;
/** Granularity of the waits on the phone (each tick is a `sleep` process). */
const TICK_MS = 50;

export interface JobFiles {
  readonly dir: string;
  readonly marker: string;
}

/** `D=<dir>`: every script names the job's files through $D, which keeps it short. */
const setDir = (files: JobFiles): string => `D=${shellQuote(files.dir)}`;

export interface JobInputs {
  readonly dir: string;
  readonly command: Command;
  readonly env?: Readonly<Record<string, string>>;
  /** The phone kills the job on its own after this long (the host's timeout plus a margin). */
  readonly watchdogS: number;
}

/** The file `setsid sh job` runs. */
export function jobScript(inputs: JobInputs): string {
  const env = Object.entries(inputs.env ?? {})
    .map(([key, value]) => `export ${key}=${shellQuote(value)}; `)
    .join('');
  const body =
    typeof inputs.command === 'string'
      ? inputs.command
      : inputs.command.map((word) => shellQuote(word)).join(' ');
  return [
    `${setDir({ dir: inputs.dir, marker: '' })}; echo $$ >"$D/pid"`,
    `(sleep ${Math.ceil(inputs.watchdogS)}; kill -9 -$$) </dev/null >/dev/null 2>&1 &`,
    `(${env}${body}`,
    `) <"$D/in" >"$D/out" 2>"$D/err"`,
    `echo $? >"$D/x.tmp"; mv "$D/x.tmp" "$D/exit"`,
    '',
  ].join('\n');
}

export interface StartInputs extends JobFiles {
  /** The job file's text to write here; absent: it was pushed. */
  readonly job?: string;
  /** Stdin to write here (a here-document: must end with a newline); absent: pushed, or none. */
  readonly stdinText?: string;
  /** Stdin was pushed to `$D/in`. */
  readonly stdinPushed: boolean;
  /** How long the start call waits for the job to end, so a short command costs one call. */
  readonly waitMs: number;
}

export function startScript(inputs: StartInputs): string {
  const stdin =
    inputs.stdinText !== undefined && inputs.stdinText !== ''
      ? `cat >"$D/in" <<'${inputs.marker}I'\n${inputs.stdinText}${inputs.marker}I\n`
      : inputs.stdinPushed
        ? ''
        : ': >"$D/in"\n';
  const job =
    inputs.job === undefined ? '' : `cat >"$D/job" <<'${inputs.marker}J'\n${inputs.job}${inputs.marker}J\n`;
  return (
    `${setDir(inputs)}; mkdir -p "$D" || exit 0\n${stdin}${job}` +
    'setsid sh "$D/job" </dev/null >/dev/null 2>&1 &\n' +
    // The PID must be on disk before this call returns: a kill right after needs it.
    'i=0; while [ ! -s "$D/pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done\n' +
    collectScript({ dir: inputs.dir, marker: inputs.marker, offsetBytes: 0, waitMs: inputs.waitMs })
  );
}

export interface CollectInputs extends JobFiles {
  /** Stdout bytes the host already has. */
  readonly offsetBytes: number;
  /** How long to wait on the phone for the job to end before answering. */
  readonly waitMs: number;
  /** Kill the job first and clean up whatever its state (a timeout, an abort). */
  readonly kill?: boolean;
}

export function collectScript(inputs: CollectInputs): string {
  const ticks = Math.max(0, Math.round(inputs.waitMs / TICK_MS));
  const { marker, offsetBytes } = inputs;
  const cleanup = `tail -c ${STDERR_KEEP_BYTES} "$D/err" 2>/dev/null; P=$(cat "$D/pid" 2>/dev/null); [ -n "$P" ] && kill -9 -$P 2>/dev/null; rm -rf "$D"`;
  return [
    setDir(inputs),
    inputs.kill === true
      ? 'P=$(cat "$D/pid" 2>/dev/null); [ -n "$P" ] && { kill -9 -$P; kill -9 $P; } 2>/dev/null'
      : `w=0; while [ ! -f "$D/exit" ] && [ $w -lt ${ticks} ]; do sleep 0.05; w=$((w+1)); done`,
    // The exit file is read before stdout: when it is there, stdout is complete.
    'if [ -f "$D/exit" ]; then X=$(cat "$D/exit"); elif [ -d "$D" ]; then X=-; else X=gone; fi',
    'S=$(wc -c <"$D/out" 2>/dev/null); S=$((S+0))',
    `echo "${marker}H $X $S"`,
    `tail -c +${offsetBytes + 1} "$D/out" 2>/dev/null | head -c ${CHUNK_MAX_BYTES}; echo`,
    inputs.kill === true
      ? `echo "${marker}C"; ${cleanup}`
      : `if [ "$X" != - ] && [ "$X" != gone ] && [ $((S-${offsetBytes})) -le ${CHUNK_MAX_BYTES} ]; then echo "${marker}C"; ${cleanup}; else echo "${marker}E"; fi`,
    'true',
  ].join('\n');
}

export interface Collected {
  /** The job's folder is not there: cleaned by an earlier call whose answer was lost, or removed by hand. */
  readonly vanished: boolean;
  /** The job's exit status when it has ended (128 + N for a signal); undefined while it runs. */
  readonly exitStatus: number | undefined;
  readonly stdoutSizeBytes: number;
  /** Stdout from the offset asked for, at most CHUNK_MAX_BYTES. */
  readonly chunk: string;
  /** The job is over and its folder removed; `stderr` holds its tail. */
  readonly cleaned: boolean;
  readonly stderr: string;
}

/** Reads a start or collect call's output; undefined when it is not one (the script could not run). */
export function parseCollected(output: string, marker: string): Collected | undefined {
  const header = new RegExp(`(?:^|\\n)${marker}H (-|gone|\\d+) (\\d+)\\n`).exec(output);
  if (header === null) return undefined;
  const chunkStart = header.index + header[0].length;
  const trailer = output.lastIndexOf(`\n${marker}`);
  if (trailer < chunkStart - 1) return undefined;
  const kind = output.charAt(trailer + 1 + marker.length);
  if (kind !== 'C' && kind !== 'E') return undefined;
  const status = header[1] ?? '-';
  return {
    vanished: status === 'gone',
    exitStatus: status === '-' || status === 'gone' ? undefined : Number(status),
    stdoutSizeBytes: Number(header[2]),
    chunk: output.slice(chunkStart, Math.max(chunkStart, trailer)),
    cleaned: kind === 'C',
    stderr: kind === 'C' ? output.slice(trailer + marker.length + 3) : '',
  };
}

/**
 * The part of a chunk the host takes now: whole lines only while the job runs (the rest is read again
 * next time, so a line or a UTF-8 character cut by the read is never delivered in two pieces); all of it
 * once the job is over, or when one line alone fills a chunk.
 */
export function takeLines(
  chunk: string,
  final: boolean,
): { readonly text: string; readonly sizeBytes: number } {
  const lastNewline = chunk.lastIndexOf('\n');
  const text =
    final || (lastNewline < 0 && Buffer.byteLength(chunk) >= CHUNK_MAX_BYTES)
      ? chunk
      : chunk.slice(0, lastNewline + 1);
  return { text, sizeBytes: Buffer.byteLength(text) };
}
