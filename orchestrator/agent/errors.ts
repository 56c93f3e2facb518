/** Errors of reading the agent's output. A bad line is a record the caller keeps, never a crash. */
import { PrunelabError } from '../errors.ts';

export type AgentOutputProblem =
  /** Nothing but whitespace. */
  | 'empty'
  /** Not JSON at all: a diagnostic on the wrong stream, or a line cut short by a crash. */
  | 'not-json'
  /** JSON, but not an object. */
  | 'not-object'
  /** An object whose `type` is not one this parser reads. */
  | 'unknown-type'
  /** The right type, with a missing or ill-typed field. */
  | 'invalid-fields';

export interface AgentOutputParseData {
  readonly problem: AgentOutputProblem;
  /** The offending line, cut to 200 characters. */
  readonly excerpt: string;
  /** One "path: expected ..., got ..." per bad field (invalid-fields only). */
  readonly issues: readonly string[];
}

export class AgentOutputParseError extends PrunelabError<AgentOutputParseData> {
  override readonly name = 'AgentOutputParseError';
}
