/**
 * The measured candidates on disk, so an interrupted run (Ctrl-C, a kill, a crash) resumes where it stopped:
 * one JSON line per candidate, appended the moment it is measured, in a file named by the model's and the
 * data's sha256 and the number of samples (a candidate's figures depend on all three and on nothing else the
 * user can change: threads and batch size do not move them). A line cut short by a kill is dropped on the next
 * read, and the file is trimmed back to its last whole line before anything is appended.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SCHEMES } from '../../config/vocabulary.ts';
import { type Candidate, candidateKey } from './candidates.ts';

const lineSchema = z.object({
  layer: z.string(),
  scheme: z.enum(SCHEMES),
  block: z.string().nullable(),
  sparsity: z.number(),
  top1: z.number().nullable(),
  agreement: z.number(),
  relError: z.number(),
  density: z.number(),
  keptEnergy: z.number(),
  maskFnv1a: z.string(),
  wallMs: z.number(),
});

export type CachedMeasure = z.infer<typeof lineSchema>;

export interface CacheFile {
  readonly path: string;
  readonly entries: ReadonlyMap<string, CachedMeasure>;
  append(entry: CachedMeasure): void;
}

export function cacheFileName(modelSha256: string, dataSha256: string, samples: number): string {
  return `${modelSha256.slice(0, 24)}-${dataSha256.slice(0, 24)}-n${samples}.jsonl`;
}

/** Whole, valid lines by candidate key; the byte length they end at (a torn last line is not counted). */
export function parseCacheText(text: string): { entries: Map<string, CachedMeasure>; wholeBytes: number } {
  const entries = new Map<string, CachedMeasure>();
  const end = text.lastIndexOf('\n') + 1;
  for (const line of text.slice(0, end).split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      continue; // a line from an older or foreign writer: measured again
    }
    const parsed = lineSchema.safeParse(value);
    if (parsed.success) {
      const e = parsed.data;
      entries.set(candidateKey(e.layer, { scheme: e.scheme, block: e.block, sparsity: e.sparsity }), e);
    }
  }
  return { entries, wholeBytes: Buffer.byteLength(text.slice(0, end)) };
}

export function openCache(folder: string, name: string): CacheFile {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, name);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const { entries, wholeBytes } = parseCacheText(text);
  if (existsSync(path) && wholeBytes !== Buffer.byteLength(text)) truncateSync(path, wholeBytes);
  const live = new Map(entries);
  return {
    path,
    entries: live,
    append: (entry) => {
      // One write per line: a kill lands between lines or tears only the last one.
      appendFileSync(path, `${JSON.stringify(entry)}\n`);
      live.set(candidateKey(entry.layer, entry as Candidate), entry);
    },
  };
}
