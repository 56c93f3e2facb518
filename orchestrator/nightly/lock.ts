/**
 * One nightly run at a time per database, across processes: a lock file next to the database holding the
 * owner's pid, created with O_EXCL. A lock whose pid no longer runs (a crash, a reboot) is stale and taken
 * over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { NightlyLockedError } from './errors.ts';

export function lockPathFor(dbPath: string): string {
  return `${dbPath}.nightly.lock`;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock or throws NightlyLockedError; returns the release function. */
export async function acquireNightlyLock(
  lockPath: string,
  pid: number = process.pid,
): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(`${pid}\n`);
      await handle.close();
      return async () => {
        // Only our own lock: a stale-lock takeover by another process must not be undone by us.
        const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
        if (owner === pid) await unlink(lockPath).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(owner) && owner > 0 && isRunning(owner)) {
      throw new NightlyLockedError(
        `another nightly run (pid ${owner}) is using this database: found the lock ${lockPath}. ` +
          'Wait for it to finish; if no such process runs, delete the lock file.',
        { lockPath, pid: owner },
      );
    }
    // Stale (its process is gone) or unreadable: take it over.
    await unlink(lockPath).catch(() => undefined);
  }
  throw new NightlyLockedError(`could not take the lock ${lockPath}: another process keeps creating it`, {
    lockPath,
    pid: 0,
  });
}
