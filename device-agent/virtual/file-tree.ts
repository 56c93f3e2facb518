/**
 * Keeps a folder's files equal to a map of relative path -> content (the fake sysfs, the /system folder).
 * Only changed files are rewritten, each through a rename so that a reader never sees a half-written value.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface TreeFile {
  readonly content: string;
  /** Permission bits; 0o644 when absent. */
  readonly mode?: number;
}

export class FileTreeWriter {
  private readonly written = new Map<string, string>();

  constructor(private readonly rootDir: string) {}

  write(files: ReadonlyMap<string, string | TreeFile>): void {
    for (const [relativePath, file] of files) {
      const { content, mode = 0o644 } = typeof file === 'string' ? { content: file } : file;
      if (this.written.get(relativePath) === content) continue;
      const path = join(this.rootDir, relativePath);
      mkdirSync(dirname(path), { recursive: true });
      const temporary = `${path}.${process.pid}.tmp`;
      writeFileSync(temporary, content, { mode });
      chmodSync(temporary, mode);
      renameSync(temporary, path);
      this.written.set(relativePath, content);
    }
  }
}
