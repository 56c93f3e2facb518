/**
 * The cost model's errors (cost-model/errors.ts) carry the same name/data/kind/cause shape as
 * PrunelabError but cannot extend it (cost-model/ imports only config/). This adapter re-throws them as
 * PrunelabErrors, keeping their name, data and kind, so the CLI's one handler reports them like any other.
 */
import { CostModelError } from '../../cost-model/index.ts';
import { PrunelabError } from '../errors.ts';

export class CostModelFailure extends PrunelabError<object> {
  override readonly name: string;

  constructor(error: CostModelError) {
    super(error.message, error.data, { kind: error.kind, cause: error });
    this.name = error.name;
  }
}

/** Runs `work`, turning a CostModelError into a CostModelFailure; anything else passes unchanged. */
export function withCostModelErrors<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof CostModelError) throw new CostModelFailure(error);
    throw error;
  }
}
