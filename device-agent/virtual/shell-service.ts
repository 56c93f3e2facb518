/**
 * `shell:` and `exec:` services, shell protocol v1: one byte stream each way, stdout and stderr merged, no
 * exit code (the transport appends `; echo MARKER$?`). The stream closes once the command's output has
 * ended and it has exited; the host closing the stream kills the command's whole process group.
 */
import type { CommandRunner, RunningCommand, StreamEnd, StreamService } from './ports.ts';

export class ShellService implements StreamService {
  private readonly command: RunningCommand;

  constructor(
    private readonly stream: StreamEnd,
    runner: CommandRunner,
    commandLine: string | undefined,
  ) {
    this.command = runner.start(commandLine);
    void this.pump();
  }

  receive(bytes: Uint8Array): Promise<void> {
    return this.command.writeInput(bytes);
  }

  hostClosed(): void {
    this.command.kill();
  }

  private async pump(): Promise<void> {
    try {
      for await (const chunk of this.command.output) {
        if (this.stream.closed) break;
        await this.stream.write(chunk);
      }
    } catch {
      // The output pipe broke because the command was killed: nothing more to forward.
    }
    await this.command.exited;
    this.stream.close();
  }
}

/** A service that writes fixed text and closes (built-in commands such as `prunelab-fault`). */
export class TextService implements StreamService {
  constructor(stream: StreamEnd, text: string) {
    void stream.write(new TextEncoder().encode(text)).then(() => stream.close());
  }

  receive(): Promise<void> {
    return Promise.resolve();
  }

  hostClosed(): void {}
}

export type ShellDestination =
  | { readonly kind: 'command'; readonly commandLine: string | undefined }
  | { readonly kind: 'unsupported'; readonly reason: string };

/**
 * `shell:CMD`, `shell,ARGS:CMD` and `exec:CMD`. The host only asks for shell v2 (`shell,v2,...:`) when the
 * banner lists shell_v2, which this phone does not; such a request is refused rather than half served.
 */
export function parseShellDestination(destination: string): ShellDestination | undefined {
  const match = /^(shell|exec)(,[^:]*)?:([\s\S]*)$/.exec(destination);
  if (match === null) return undefined;
  const [, service, args, command = ''] = match;
  if (service === 'shell' && args !== undefined && args.split(',').includes('v2')) {
    return {
      kind: 'unsupported',
      reason: 'shell protocol v2 is not implemented (the banner does not offer shell_v2)',
    };
  }
  return { kind: 'command', commandLine: service === 'shell' && command.trim() === '' ? undefined : command };
}
