/** The python3 the tests read and write .npy/.npz files with: a reader that is not prunelab's own. */
import { spawnSync } from 'node:child_process';

/**
 * The first python3 that imports numpy: the one on PATH, else Debian's /usr/bin/python3 (the Debian package
 * python3-numpy, which test/install-system-packages.sh installs, is for that one; a pyenv python3 earlier on
 * PATH may lack numpy).
 */
export function numpyPython(): string {
  for (const python of ['python3', '/usr/bin/python3'])
    if (spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0) return python;
  throw new Error(
    'no python3 with numpy: install the Debian package python3-numpy (test/install-system-packages.sh)',
  );
}
