/**
 * Files to and from an adb phone (the Device port's `push` and `pull`) over the sync service. A push is
 * skipped when the phone's `sha256sum` already matches, and checked after; a failed push is explained.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, posix, resolve } from 'node:path';
import { classifyAdbFailure } from '../android/classify.ts';
import { errorMessage, hashOf } from '../android/messages.ts';
import { shellQuote } from '../android/shell-quote.ts';
import { FileTransferError, type TransportError } from '../errors.ts';
import type { PushOptions, ShellResult } from '../port.ts';
import { type AdbPhone, adbTransportError } from './context.ts';
import { adbQuickRun, adbShell } from './shell.ts';

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function localHashOf(phone: AdbPhone, localPath: string): Promise<string> {
  try {
    return await sha256File(localPath);
  } catch (error) {
    throw new FileTransferError(
      `cannot read ${localPath} to push it to ${phone.serial}: ${errorMessage(error)}`,
      { deviceId: phone.serial, operation: 'push', detail: localPath },
      { transient: false, cause: error },
    );
  }
}

export async function adbPush(
  phone: AdbPhone,
  localPath: string,
  remotePath: string,
  options: PushOptions,
): Promise<void> {
  const mode = options.mode.toString(8);
  const localHash = await localHashOf(phone, localPath);
  // Same content already there (a resumed sweep, a second run): skip the upload, fix the mode only.
  const remote = shellQuote(remotePath);
  const check = await adbQuickRun(
    phone,
    `sha256sum ${remote} 2>/dev/null && chmod ${mode} ${remote}`,
    'push',
  );
  if (hashOf(check) === localHash) return;
  try {
    await phone.client.push(phone.serial, localPath, remotePath, options.mode);
  } catch (error) {
    throw await explainPushFailure(phone, remotePath, error);
  }
  const after = await adbQuickRun(phone, `sha256sum ${remote} 2>/dev/null`, 'push');
  if (hashOf(after) !== localHash) {
    throw new FileTransferError(
      `pushed ${localPath} to ${phone.serial}:${remotePath} but the device's sha256 differs (expected ${localHash}, found '${after.trim() || 'no file'}'); the storage may be full or failing`,
      { deviceId: phone.serial, operation: 'push', detail: remotePath },
      { transient: false },
    );
  }
}

/** What a 64 KiB test write next to the target says (dd names the errno; shell builtins only "I/O error"). */
async function testWrite(phone: AdbPhone, remotePath: string): Promise<string> {
  const probeName = `.pl-probe-${randomBytes(4).toString('hex')}`;
  const dirs = [...new Set([posix.dirname(remotePath), posix.dirname(phone.workDir)])].map(shellQuote);
  const probeCommand = `for d in ${dirs.join(' ')}; do [ -d "$d" ] || continue; dd if=/dev/zero of="$d/${probeName}" bs=65536 count=1 2>&1 >/dev/null | grep -v records; rm -f "$d/${probeName}"; done`;
  const probe = await adbShell(phone, probeCommand, { timeoutMs: 10_000 }).catch(
    (probeError: unknown) => probeError,
  );
  return probe instanceof Error
    ? `(the test write failed: ${probe.message})`
    : `${(probe as ShellResult).stdout}${(probe as ShellResult).stderr}`.trim();
}

/**
 * adbkit may report its own "write after end" instead of the device's FAIL when a SEND fails mid-file,
 * so a failed push whose message does not say why is probed with a tiny write next to the target.
 */
async function explainPushFailure(
  phone: AdbPhone,
  remotePath: string,
  error: unknown,
): Promise<TransportError> {
  const what = `cannot push to ${remotePath}`;
  const classified = classifyAdbFailure(errorMessage(error));
  if (classified.kind === 'no-space' || classified.kind === 'permission')
    return adbTransportError(phone, 'push', what, error, remotePath);
  let said = '';
  let why = classifyAdbFailure(said);
  // Twice: right after a refused SEND the first shell may race the closing sync stream.
  for (let attempt = 0; attempt < 2 && why.kind !== 'no-space' && why.kind !== 'permission'; attempt++) {
    said = await testWrite(phone, remotePath);
    why = classifyAdbFailure(said);
  }
  const saidPart = said === '' ? '' : `; a test write on the device says: ${said}`;
  return adbTransportError(phone, 'push', what, new Error(`${errorMessage(error)}${saidPart}`), remotePath);
}

export async function adbPull(phone: AdbPhone, remotePath: string, localPath: string): Promise<void> {
  try {
    await mkdir(dirname(resolve(localPath)), { recursive: true });
    await phone.client.pull(phone.serial, remotePath, localPath);
  } catch (error) {
    throw adbTransportError(phone, 'pull', `cannot pull ${remotePath}`, error, remotePath);
  }
}
