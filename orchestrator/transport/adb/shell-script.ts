/**
 * How a command runs over adb's shell protocol v1 (pure). v1 gives one merged byte stream and no exit
 * status, and adbkit always uses v1 (it opens `shell:`, never `shell,v2:`), so the command is wrapped:
 *
 *   echo <M>P$$; mkdir -p <dir>; E=<err-file>; ( <command>
 *   ) <stdin-file-or-/dev/null 2>"$E"; printf '<M>X%d\n' $?; tail -c <keep> "$E"; rm -f <files>
 *
 * - `<M>P$$` first: the PID of the shell adbd started, which is also the process group of everything the
 *   command starts (adbd calls setsid() for each subprocess), so a timeout can `kill -9 -PGID` on the device;
 * - stderr goes to a file and is printed after the exit marker, so stdout stays clean (the agent's JSON
 *   lines) and stderr still comes back in the same round trip;
 * - `<M>` holds a random nonce, so no output of the command can fake the marker.
 */
import { StringDecoder } from 'node:string_decoder';
import { shellQuote } from '../android/shell-quote.ts';
import type { Command } from '../port.ts';
import { STDERR_KEEP_BYTES } from '../port.ts';

/**
 * Stdin up to this size travels inside the command as a here-document: one round trip instead of a sync
 * push plus the shell (the service request is limited to 64 KiB by the adb host protocol's 4-hex length).
 */
export const INLINE_STDIN_MAX_BYTES = 16 * 1024;

export function canInlineStdin(stdin: string): boolean {
  return Buffer.byteLength(stdin, 'utf8') <= INLINE_STDIN_MAX_BYTES && (stdin === '' || stdin.endsWith('\n'));
}

export interface WrapInputs {
  readonly command: Command;
  readonly marker: string;
  /** Where the command's stdin was pushed, when it has one. */
  readonly stdinPath?: string;
  /** Small stdin given inline (a here-document; must end with a newline). */
  readonly stdinText?: string;
  readonly stderrPath: string;
  readonly workDir: string;
  readonly env?: Readonly<Record<string, string>>;
}

export function wrapCommand(inputs: WrapInputs): string {
  const body =
    typeof inputs.command === 'string'
      ? inputs.command
      : inputs.command.map((word) => shellQuote(word)).join(' ');
  const env = Object.entries(inputs.env ?? {})
    .map(([key, value]) => `export ${key}=${shellQuote(value)}; `)
    .join('');
  const stdin = inputs.stdinPath === undefined ? '/dev/null' : shellQuote(inputs.stdinPath);
  const err = shellQuote(inputs.stderrPath);
  const files = [err, ...(inputs.stdinPath === undefined ? [] : [stdin])].join(' ');
  const delimiter = `${inputs.marker}IN`;
  const redirect =
    inputs.stdinText === undefined || inputs.stdinText === ''
      ? `<${stdin} 2>"$E"; `
      : `2>"$E" <<'${delimiter}'\n${inputs.stdinText}${delimiter}\n`;
  // When the stderr file cannot be created (a full disk), the command still runs, without its stderr.
  return (
    `echo ${inputs.marker}P$$; mkdir -p ${shellQuote(inputs.workDir)} 2>/dev/null; E=${err}; ` +
    `{ : >"$E"; } 2>/dev/null || E=/dev/null; ${env}( ${body}\n) ${redirect}` +
    `printf '${inputs.marker}X%d\\n' $?; tail -c ${STDERR_KEEP_BYTES} "$E" 2>/dev/null; rm -f ${files}`
  );
}

/** A kill of the command's process group (and the PID itself, when the group is already gone). */
export function killCommand(pid: number, files: readonly string[]): string {
  return `kill -9 -${pid} 2>/dev/null; kill -9 ${pid} 2>/dev/null; rm -f ${files.map(shellQuote).join(' ')}; true`;
}

export type ShellPhase = 'head' | 'body' | 'tail';

/**
 * Splits the wrapped command's byte stream: the PID line, stdout lines (delivered as they complete), the
 * exit code, then stderr. Chunks may split anywhere, even inside a UTF-8 character or the marker.
 */
export class WrappedOutputParser {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';
  private phase: ShellPhase = 'head';
  private stderrText = '';
  pid: number | undefined;
  exitCode: number | undefined;

  constructor(
    private readonly marker: string,
    private readonly onLine: (line: string, terminated: boolean) => void,
  ) {}

  get finished(): boolean {
    return this.exitCode !== undefined;
  }

  get stderr(): string {
    return this.stderrText;
  }

  push(chunk: Buffer): void {
    this.consume(this.decoder.write(chunk));
  }

  /** The stream ended: anything left in the buffer is flushed. */
  end(): void {
    this.consume(this.decoder.end());
    if (this.phase === 'tail') {
      this.stderrText += this.pending;
      this.pending = '';
    }
  }

  private consume(text: string): void {
    if (this.phase === 'tail') {
      this.stderrText += text;
      return;
    }
    this.pending += text;
    for (;;) {
      const newline = this.pending.indexOf('\n');
      if (newline < 0) return;
      const line = this.pending.slice(0, newline).replace(/\r$/, '');
      this.pending = this.pending.slice(newline + 1);
      this.takeLine(line);
      if (this.finished) {
        this.stderrText += this.pending;
        this.pending = '';
        return;
      }
    }
  }

  private takeLine(line: string): void {
    if (this.phase === 'head') {
      const match = new RegExp(`^${this.marker}P(\\d+)$`).exec(line);
      if (match !== null) {
        this.pid = Number(match[1]);
        this.phase = 'body';
        return;
      }
      // No PID line (should not happen): treat the output as the command's.
      this.phase = 'body';
    }
    const at = line.indexOf(`${this.marker}X`);
    if (at < 0) {
      this.onLine(line, true);
      return;
    }
    // The marker follows the last stdout bytes directly when they had no final newline.
    if (at > 0) this.onLine(line.slice(0, at), false);
    this.exitCode = Number(line.slice(at + this.marker.length + 1));
    this.phase = 'tail';
  }
}
