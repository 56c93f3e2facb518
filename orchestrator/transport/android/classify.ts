/**
 * Which Android failures a retry may cure (pure), from adb's own words: the adb transport gets them from
 * the server, the Appium transport from a driver that passes them through. devlib's split: the link or the device being away is
 * transient; a full disk, a permission or a missing file is stable (retrying the same push cannot help).
 */

export type FailureClass =
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'no-space' }
  | { readonly kind: 'permission' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'other' };

const UNAVAILABLE = [
  /ECONNRESET/,
  /ECONNREFUSED/,
  /EPIPE/,
  /device '.*' not found/i,
  /device offline/i,
  /device not found/i,
  /no devices/i,
  /closed/i,
  /premature end/i,
  /timed? ?out/i,
];

/**
 * adbkit's own `write after end` (the phone refused a SEND and closed the sync stream while adbkit still
 * wrote) is deliberately not in UNAVAILABLE: it follows a FAIL reply, not a lost link.
 */
export function classifyAdbFailure(message: string): FailureClass {
  if (/No space left on device|ENOSPC/i.test(message)) return { kind: 'no-space' };
  if (/Permission denied|Read-only file system|EACCES|EROFS/i.test(message)) return { kind: 'permission' };
  if (/No such file or directory|ENOENT/i.test(message)) return { kind: 'missing' };
  if (UNAVAILABLE.some((pattern) => pattern.test(message))) return { kind: 'unavailable' };
  return { kind: 'other' };
}
