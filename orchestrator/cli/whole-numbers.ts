/** The check every command with count flags shares: each given value is a whole number >= 1. */
import { UsageError } from '../errors.ts';

/** Throws a UsageError (exit 2) naming the first flag whose value is not a whole number >= 1. */
export function checkWholeNumbers(flags: readonly (readonly [string, number | undefined])[]): void {
  for (const [option, value] of flags) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) {
      throw new UsageError(`${option}: expected a whole number >= 1; got ${value}`, { option });
    }
  }
}
