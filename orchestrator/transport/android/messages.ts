/** Error-message helpers both Android transports use (pure). */

/** The message of anything thrown: adbkit and webdriverio reject with Errors, a few paths with strings. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first word of `sha256sum` output: the hash, or '' when the file was not there. */
export function hashOf(sha256sumOutput: string): string {
  return sha256sumOutput.trim().split(/\s+/)[0] ?? '';
}
