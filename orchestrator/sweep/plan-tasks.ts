/** Configuration -> plan -> the task rows a run stores (pure). */

import { getModel, isOnnxPath, MODEL_NAMES } from '../../config/models/index.ts';
import type { PrunelabConfig } from '../../config/schema.ts';
import { UsageError } from '../errors.ts';
import type { SweepOnnxModel } from '../models/sweep-models.ts';
import { blobFileName } from '../models/weights-blob.ts';
import { toPlanLine } from '../plan/plan-line.ts';
import { planSweep } from '../plan/planner.ts';
import type { Plan, PlanModel, PlannedCase } from '../plan/types.ts';
import type { PlanLineBody, TaskInput } from '../store/tasks.ts';

/** An ONNX model as the planner takes it: its layers named by ONNX node, and its weights file. */
function planModelOf(model: SweepOnnxModel): PlanModel {
  return {
    name: model.label,
    layers: model.layers.map((layer) => ({ name: layer.node, shape: layer.shape })),
    weights: {
      file: blobFileName(model.blob.sha256),
      sha256: model.blob.sha256,
      offsets: new Map(model.blob.layers.map((layer) => [layer.node, layer.offsetBytes])),
    },
  };
}

/**
 * The plan of a configuration. Its ONNX entries must be in `onnx` (read by loadSweepModels: planning stays
 * pure); built-in names come from config/models.
 */
export function planFromConfig(
  config: PrunelabConfig,
  onnx: ReadonlyMap<string, SweepOnnxModel> = new Map(),
): Plan {
  const models = config.sweep.models.map((name): PlanModel => {
    const loaded = onnx.get(name);
    if (loaded !== undefined) return planModelOf(loaded);
    const table = getModel(name);
    if (table !== undefined) return table;
    if (isOnnxPath(name)) {
      throw new UsageError(
        `sweep.models: ${name} is an ONNX file; this command plans built-in models only ` +
          `(${MODEL_NAMES.join(', ')}). Sweep ONNX files with \`prunelab sweep --model FILE.onnx\`.`,
        { option: '--models' },
      );
    }
    // The schema already rejected unknown names; reaching this means config and model list disagree.
    throw new Error(`model '${name}' passed validation but has no table`);
  });
  return planSweep(config.sweep, models, {
    maxCasesPerBatch: config.sweep.batch.maxCases,
    targetBatchMs: config.sweep.batch.targetMs,
  });
}

function withoutId(line: ReturnType<typeof toPlanLine>): PlanLineBody {
  const { id: _id, ...body } = line;
  return body;
}

/** The model and ONNX node columns of a case: its ONNX node, or the first built-in model of its layers. */
function modelOf(plannedCase: PlannedCase): { model?: string; onnxNode?: string } {
  const { weights, layers } = plannedCase;
  if (weights !== undefined) return { model: weights.model, onnxNode: weights.node };
  const first = layers[0];
  return first === undefined ? {} : { model: first.slice(0, first.indexOf('/')) };
}

export function tasksFromPlan(plan: Plan): TaskInput[] {
  return plan.batches.flatMap((batch) =>
    batch.cases.map((plannedCase, seq) => ({
      caseKey: plannedCase.key,
      batchIndex: batch.index,
      seq,
      caseJson: plannedCase,
      planLine: withoutId(toPlanLine(plannedCase, '')),
      ...modelOf(plannedCase),
    })),
  );
}
