/**
 * Files to and from an Appium phone (the Device port's `push` and `pull`) through push_file/pull_file
 * (base64). A push is skipped when the phone's `sha256sum` already matches, and checked after.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { errorMessage, hashOf } from '../android/messages.ts';
import { shellQuote } from '../android/shell-quote.ts';
import { FileTransferError } from '../errors.ts';
import type { PushOptions } from '../port.ts';
import { type AppiumPhone, appiumFailure } from './context.ts';
import { appiumShell } from './shell.ts';

/** Short internal commands (checksums). */
const QUICK_TIMEOUT_MS = 30_000;

async function readLocal(phone: AppiumPhone, localPath: string): Promise<Buffer> {
  try {
    return await readFile(localPath);
  } catch (error) {
    throw new FileTransferError(
      `cannot read ${localPath} to push it to ${phone.deviceId}: ${errorMessage(error)}`,
      { deviceId: phone.deviceId, operation: 'push', detail: localPath },
      { transient: false, cause: error },
    );
  }
}

export async function appiumPush(
  phone: AppiumPhone,
  localPath: string,
  remotePath: string,
  options: PushOptions,
): Promise<void> {
  const bytes = await readLocal(phone, localPath);
  const localHash = createHash('sha256').update(bytes).digest('hex');
  const remote = shellQuote(remotePath);
  const mode = options.mode.toString(8);
  // Same content already there (a resumed sweep): no upload, the mode only. A pushed file is 0644.
  const before = await appiumShell(phone, `sha256sum ${remote} 2>/dev/null && chmod ${mode} ${remote}`, {
    timeoutMs: QUICK_TIMEOUT_MS,
  });
  if (before.exitCode === 0 && hashOf(before.stdout) === localHash) return;
  try {
    await phone.session.pushFile(remotePath, bytes);
  } catch (error) {
    throw appiumFailure(phone, 'push', `cannot push ${localPath} to ${remotePath}`, error, remotePath);
  }
  const after = await appiumShell(phone, `chmod ${mode} ${remote} && sha256sum ${remote}`, {
    timeoutMs: QUICK_TIMEOUT_MS,
  });
  if (hashOf(after.stdout) !== localHash) {
    throw new FileTransferError(
      `pushed ${localPath} to ${phone.deviceId}:${remotePath} but the phone's sha256 differs (expected ${localHash}, found '${after.stdout.trim() || after.stderr.trim() || 'no file'}'); the storage may be full or failing`,
      { deviceId: phone.deviceId, operation: 'push', detail: remotePath },
      { transient: false },
    );
  }
}

export async function appiumPull(phone: AppiumPhone, remotePath: string, localPath: string): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await phone.session.pullFile(remotePath);
  } catch (error) {
    throw appiumFailure(phone, 'pull', `cannot pull ${remotePath}`, error, remotePath);
  }
  try {
    await mkdir(dirname(resolve(localPath)), { recursive: true });
    await writeFile(localPath, bytes);
  } catch (error) {
    throw new FileTransferError(
      `pulled ${remotePath} from ${phone.deviceId} but cannot write ${localPath}: ${errorMessage(error)}`,
      { deviceId: phone.deviceId, operation: 'pull', detail: localPath },
      { transient: false, cause: error },
    );
  }
}
