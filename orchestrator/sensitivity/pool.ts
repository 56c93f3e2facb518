/**
 * A pool of worker_threads, each with its own ONNX Runtime session per candidate (worker.ts). The data, the
 * dense outputs and the labels sit in SharedArrayBuffers that every worker reads without a copy; each worker
 * gets one task at a time, so a worker's ORT threads never compete with its own next task.
 */
import { Worker } from 'node:worker_threads';
import type { Candidate } from './candidates.ts';
import { type CandidateMeasure, type MeasureContext, measureCandidate } from './measure.ts';

export type InitRequest = { readonly type: 'init' } & Omit<MeasureContext, 'layers'>;
export type TaskRequest = {
  readonly type: 'task';
  readonly id: number;
  readonly layer: string;
  readonly candidate: Candidate;
};
export type WorkerRequest = InitRequest | TaskRequest;
export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly id: number; readonly ok: true; readonly measure: CandidateMeasure }
  | { readonly type: 'done'; readonly id: number; readonly ok: false; readonly message: string };

export interface WorkerPool {
  readonly size: number;
  /** Resolves when every worker has loaded its modules and parsed the model (rejects if one fails). */
  readonly ready: Promise<void>;
  /** Measures one candidate on the next free worker; rejects with the worker's message when it fails. */
  run(layer: string, candidate: Candidate): Promise<CandidateMeasure>;
  close(): Promise<void>;
}

/** A typed array's values in shared memory (workers then read the one copy). */
export function shared<T extends Float32Array | Int32Array>(values: T): T {
  const Kind = values.constructor as { new (buffer: SharedArrayBuffer): T };
  const out = new Kind(new SharedArrayBuffer(values.byteLength));
  out.set(values);
  return out;
}

/**
 * The worker's module. From the sources (tsx) it is a .ts file, which a worker cannot load by itself on Node
 * 20 (the parent's --import hooks do not reach it), so a one-line shim registers tsx there first.
 */
function spawnWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./worker.js', here));
  const url = new URL('./worker.ts', here).href;
  const shim = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url)}); });`;
  return new Worker(shim, { eval: true });
}

interface Slot {
  readonly worker: Worker;
  pending: { id: number; resolve: (m: CandidateMeasure) => void; reject: (e: Error) => void } | undefined;
}

export function startPool(size: number, init: InitRequest): WorkerPool {
  const slots: Slot[] = [];
  const waiting: { layer: string; candidate: Candidate; settle: NonNullable<Slot['pending']> }[] = [];
  let broken: Error | undefined;
  let nextId = 1;
  let readyCount = 0;
  let markReady: () => void = () => {};
  let markBroken: (error: Error) => void = () => {};
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    markBroken = reject;
  });
  const dispatch = (): void => {
    for (const slot of slots) {
      if (slot.pending !== undefined) continue;
      const task = waiting.shift();
      if (task === undefined) return;
      slot.pending = task.settle;
      slot.worker.postMessage({
        type: 'task',
        id: task.settle.id,
        layer: task.layer,
        candidate: task.candidate,
      });
    }
  };
  const fail = (error: Error): void => {
    broken ??= error;
    markBroken(error);
    for (const slot of slots) {
      slot.pending?.reject(error);
      slot.pending = undefined;
    }
    for (const task of waiting.splice(0)) task.settle.reject(error);
  };
  for (let i = 0; i < size; i++) {
    const slot: Slot = { worker: spawnWorker(), pending: undefined };
    slot.worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'ready') {
        readyCount++;
        if (readyCount === size) markReady();
        return;
      }
      const pending = slot.pending;
      slot.pending = undefined;
      if (pending !== undefined && pending.id === reply.id) {
        if (reply.ok) pending.resolve(reply.measure);
        else pending.reject(new Error(reply.message));
      }
      dispatch();
    });
    slot.worker.on('error', (error) =>
      fail(new Error(`a sensitivity worker failed: ${error.message}`, { cause: error })),
    );
    slot.worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`a sensitivity worker exited with code ${code}`));
    });
    slot.worker.postMessage(init);
    slots.push(slot);
  }
  ready.catch(() => {}); // a failure also rejects every run; awaiting ready is optional
  return {
    size,
    ready,
    run: (layer, candidate) =>
      new Promise<CandidateMeasure>((resolve, reject) => {
        if (broken !== undefined) {
          reject(broken);
          return;
        }
        waiting.push({ layer, candidate, settle: { id: nextId++, resolve, reject } });
        dispatch();
      }),
    close: async () => {
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}

/**
 * One worker's work done in this thread: no thread to start (from the sources a worker spends seconds loading
 * its modules through tsx), the same measurement. What `--workers 1` uses.
 */
export function inlinePool(context: MeasureContext): WorkerPool {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    size: 1,
    ready: Promise.resolve(),
    run: (layer, candidate) => {
      const result = queue.then(() => measureCandidate(context, layer, candidate));
      queue = result.catch(() => {});
      return result;
    },
    close: async () => {},
  };
}
