/**
 * A whole captured stdout of `prunelab-agent run` -> its records (pure). For transports that return the
 * output at once (an adb shell call); streaming readers use AgentLineSplitter + parseAgentOutputLine.
 */
import type { DoneLine, ResultLine } from '../../config/agent-protocol.ts';
import type { AgentOutputParseError } from './errors.ts';
import { AgentLineSplitter } from './line-splitter.ts';
import { parseAgentOutputLine } from './parse-output.ts';

export interface AgentRunOutput {
  readonly results: readonly ResultLine[];
  /** undefined when the agent never printed its done line (it died, or was killed by a timeout). */
  readonly done: DoneLine | undefined;
  /** Lines that are not protocol records, with their 1-based line numbers. */
  readonly garbage: readonly { readonly lineNumber: number; readonly error: AgentOutputParseError }[];
  /** A done line was read, nothing came after it, and its counts match the results read. */
  readonly complete: boolean;
}

export function readAgentRunOutput(stdout: string): AgentRunOutput {
  const splitter = new AgentLineSplitter();
  const lines = splitter.push(stdout);
  const tail = splitter.end();
  if (tail !== undefined) lines.push(tail);

  const results: ResultLine[] = [];
  const garbage: { lineNumber: number; error: AgentOutputParseError }[] = [];
  let done: DoneLine | undefined;
  let afterDone = false;
  lines.forEach((text, index) => {
    if (text.trim() === '') return;
    const parsed = parseAgentOutputLine(text);
    if (done !== undefined) afterDone = true;
    if (!parsed.ok) garbage.push({ lineNumber: index + 1, error: parsed.error });
    else if (parsed.value.type === 'done') done = parsed.value;
    else results.push(parsed.value);
  });
  const okCount = results.filter((r) => r.status === 'ok').length;
  const complete =
    done !== undefined &&
    !afterDone &&
    done.cases === results.length &&
    done.ok === okCount &&
    done.errors === results.length - okCount;
  return { results, done, garbage, complete };
}
