/** Errors of the sweep use case. */
import { PrunelabError } from '../errors.ts';

/** The sweep ran but did not finish: a device was stopped, or the user interrupted it. */
export class SweepIncompleteError extends PrunelabError<{
  readonly runId: string;
  readonly dbPath: string;
  readonly pending: number;
  readonly failed: number;
}> {
  override readonly name = 'SweepIncompleteError';
}

/** `--resume` was asked for but there is nothing to resume. */
export class NothingToResumeError extends PrunelabError<{
  readonly dbPath: string;
  readonly runId?: string;
}> {
  override readonly name = 'NothingToResumeError';
}

/** Every case of the sweep was dropped (blocks that divide no layer, pattern on no 3x3 conv, ...). */
export class EmptyPlanError extends PrunelabError<{
  readonly dropped: number;
  readonly reasons: readonly string[];
}> {
  override readonly name = 'EmptyPlanError';
}

/** A resumed run's ONNX file no longer holds the weights its cases were planned with. */
export class ModelChangedError extends PrunelabError<{
  readonly runId: string;
  readonly missing: readonly string[];
}> {
  override readonly name = 'ModelChangedError';
}

/** `--resume` of a run that `sweep --enqueue` planned for the work queue: its workers run it, not a sweep. */
export class QueuedRunError extends PrunelabError<{ readonly dbPath: string; readonly runId: string }> {
  override readonly name = 'QueuedRunError';
}
