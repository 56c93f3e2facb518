/**
 * Appium failures (pure): which ones a retry may cure, and the one that no retry can: a server that does
 * not let a client run shell commands, without which a native binary cannot even be made executable.
 */
import { classifyAdbFailure, type FailureClass } from '../android/classify.ts';
import { TransportError, type TransportErrorData } from '../errors.ts';

/** The server refuses `mobile: shell` (the adb_shell insecure feature is off, or the driver has no shell). */
export class AppiumShellRefusedError extends TransportError {
  override readonly name = 'AppiumShellRefusedError';

  constructor(message: string, data: TransportErrorData, options: { cause?: unknown } = {}) {
    super(message, data, { transient: false, ...options });
  }
}

export type AppiumFailureClass =
  | FailureClass
  | { readonly kind: 'shell-refused' }
  | { readonly kind: 'session-gone' };

const SHELL_REFUSED = [
  /insecure feature '?adb_shell'? has not been enabled/i,
  /unsupported execute method '?mobile: ?shell/i,
];

const SESSION_GONE = [/invalid session id/i, /session is either terminated or not started/i];

const UNAVAILABLE = [
  /ECONNREFUSED/,
  /ECONNRESET/,
  /ETIMEDOUT/,
  /EHOSTUNREACH/,
  /ENOTFOUND/,
  /EAI_AGAIN/,
  /fetch failed/i,
  /socket hang up/i,
  /other side closed/i,
  /aborted due to timeout/i,
  /Request timed out|timeout of \d+ms/i,
];

export function classifyAppiumFailure(message: string): AppiumFailureClass {
  if (SHELL_REFUSED.some((pattern) => pattern.test(message))) return { kind: 'shell-refused' };
  if (SESSION_GONE.some((pattern) => pattern.test(message))) return { kind: 'session-gone' };
  if (UNAVAILABLE.some((pattern) => pattern.test(message))) return { kind: 'unavailable' };
  // The driver passes adb's own words through: no space, permission, missing file, device offline.
  return classifyAdbFailure(message);
}

/** The farm-level explanation that goes with a refused shell. */
export function shellRefusedAdvice(automationName: string): string {
  const scope = automationName.toLowerCase();
  return (
    `prunelab pushes its agent and runs it with \`mobile: shell\`: start the server with ` +
    `\`appium --allow-insecure ${scope}:adb_shell\` (or \`--relaxed-security\`). Farms that forbid shell ` +
    '(BrowserStack; Sauce Labs and LambdaTest allow only listed adb commands) cannot run native binaries ' +
    'at all: use a farm that lets you start Appium with your own flags (AWS Device Farm custom mode, your ' +
    'own grid), or the adb transport'
  );
}
