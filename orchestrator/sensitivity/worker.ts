/**
 * A pool worker (worker_threads): parses the model once, keeps the data and the dense outputs it was given,
 * and measures the candidates it is sent one at a time, each through its own ONNX Runtime session.
 */
import { parentPort } from 'node:worker_threads';
import { parseOnnxModel } from '../models/onnx.ts';
import { type MeasureContext, measureCandidate } from './measure.ts';
import type { WorkerReply, WorkerRequest } from './pool.ts';

let context: MeasureContext | undefined;

async function handle(request: WorkerRequest): Promise<WorkerReply> {
  if (request.type === 'init') {
    const model = parseOnnxModel(request.modelBytes, request.modelFile);
    context = { ...request, layers: new Map(model.layers.map((l) => [l.name, l])) };
    return { type: 'ready' };
  }
  if (context === undefined)
    return { type: 'done', id: request.id, ok: false, message: 'the worker was sent a task before init' };
  try {
    return {
      type: 'done',
      id: request.id,
      ok: true,
      measure: await measureCandidate(context, request.layer, request.candidate),
    };
  } catch (error) {
    return { type: 'done', id: request.id, ok: false, message: (error as Error).message };
  }
}

// One message at a time, in order: the pool sends a worker its next task only after the last reply.
let queue = Promise.resolve();
parentPort?.on('message', (request: WorkerRequest) => {
  queue = queue.then(async () => {
    parentPort?.postMessage(await handle(request));
  });
});
