/** Errors of agent builds and toolchain detection. */
import { PrunelabError } from '../errors.ts';

export interface BuildErrorData {
  readonly abi: string;
  readonly makeTarget?: string;
  readonly exitCode?: number | null;
  readonly stderr?: string;
}

/** The agent could not be built for an ABI: missing compiler, compile error, or an ABI we cannot build. */
export class AgentBuildError extends PrunelabError<BuildErrorData> {
  override readonly name = 'AgentBuildError';

  constructor(
    message: string,
    data: BuildErrorData,
    options: { kind?: 'input' | 'failure'; cause?: unknown } = {},
  ) {
    super(message, data, options);
  }
}
