/** Exit statuses to signal names (pure): a shell reports a command killed by signal N as 128 + N. */
import { constants as osConstants } from 'node:os';

/** `SIGKILL` for 137, null for an ordinary exit status. Linux numbering, which Android shares. */
export function signalName(exitCode: number): string | null {
  if (exitCode <= 128 || exitCode > 128 + 64) return null;
  const entry = Object.entries(osConstants.signals).find(([, number]) => number === exitCode - 128);
  return entry?.[0] ?? null;
}
