/** Runs the prunelab CLI in this process with the real adapters and captured output. */
import { Writable } from 'node:stream';
import { main, realContext } from '../../orchestrator/cli/main.ts';

export interface CliRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `env` defaults to this process's environment (the test command turns adb off with PRUNELAB_NO_ADB=1). */
export async function runPrunelab(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const toOut = (text: string): void => {
    stdout += text;
  };
  const toErr = (text: string): void => {
    stderr += text;
  };
  // Commands that stream (progress bars, tables) write to these streams rather than through out/err.
  const capture = (append: (text: string) => void) =>
    new Writable({
      write(chunk, _encoding, done) {
        append(String(chunk));
        done();
      },
    });
  const output = {
    out: toOut,
    err: toErr,
    stderrIsTty: false,
    stdout: capture(toOut),
    stderr: capture(toErr),
  };
  const exitCode = await main([...args], { ...realContext(env), output });
  return { exitCode, stdout, stderr };
}
