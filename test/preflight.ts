/** The system tools the test suite uses for real, and the Debian package that brings each. */
import { spawnSync } from 'node:child_process';

export interface RequiredTool {
  readonly command: string;
  readonly debianPackage: string;
  readonly why: string;
}

export const REQUIRED_TOOLS: readonly RequiredTool[] = [
  { command: 'cc', debianPackage: 'gcc', why: 'builds the host agent' },
  { command: 'make', debianPackage: 'make', why: 'drives the agent builds' },
  {
    command: 'aarch64-linux-gnu-gcc',
    debianPackage: 'gcc-aarch64-linux-gnu',
    why: 'builds the static arm64 agent',
  },
  {
    command: 'qemu-aarch64-static',
    debianPackage: 'qemu-user-static',
    why: 'runs the arm64 agent on this host',
  },
  { command: 'adb', debianPackage: 'adb', why: 'the real adb server the virtual phones connect to' },
  {
    command: 'bwrap',
    debianPackage: 'bubblewrap',
    why: "gives the virtual phone's commands /data/local/tmp, /sys and /system",
  },
  {
    command: 'chromium',
    debianPackage: 'chromium',
    why: 'opens the HTML reports headless (playwright-core drives /usr/bin/chromium)',
  },
  {
    command: 'python3',
    debianPackage: 'python3-numpy',
    why: 'trains the digits fixture (numpy) and reads back the .npz files prunelab writes',
  },
  {
    command: 'dpkg-deb',
    debianPackage: 'dpkg',
    why: "takes digits.csv.gz out of python3-sklearn's package file (apt-get download; the digits fixture)",
  },
  {
    command: 'pg_ctlcluster',
    debianPackage: 'postgresql',
    why: 'the PostgreSQL server the store tests run against (install-system-packages.sh starts it)',
  },
];

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export function missingTools(tools: readonly RequiredTool[] = REQUIRED_TOOLS): RequiredTool[] {
  return tools.filter((tool) => !onPath(tool.command));
}
