/**
 * One line of the agent's stdout -> a typed protocol record, or a typed parse error (never a throw).
 * Pure: the scheduler feeds it lines as they stream in, and a garbage line (a crashed agent's half line, a
 * stray diagnostic) becomes an error value the caller records next to the case, not an exception.
 */
import type { z } from 'zod';
import type {
  AgentInfo,
  AgentOutputLine,
  DoneLine,
  ErrorResultLine,
  NetworkResultLine,
} from '../../config/agent-protocol.ts';
import { AgentOutputParseError, type AgentOutputProblem } from './errors.ts';
import { excerptOf, formatPath, valueAt } from './excerpt.ts';
import { doneSchema, errorResultSchema, infoSchema, networkResultSchema, okResultSchema } from './schemas.ts';

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: AgentOutputParseError };

const OUTPUT_TYPES = 'type result|done';

function fail<T>(
  problem: AgentOutputProblem,
  expected: string,
  text: string,
  detail: string,
  issues: readonly string[] = [],
  cause?: unknown,
): Parsed<T> {
  const excerpt = excerptOf(text);
  const message = `expected a JSON object with ${expected}, got ${excerpt}${detail ? ` (${detail})` : ''}`;
  return {
    ok: false,
    error: new AgentOutputParseError(
      message,
      { problem, excerpt, issues },
      cause === undefined ? {} : { cause },
    ),
  };
}

/** JSON.parse that keeps the SyntaxError for the `cause`. */
function parseJsonObject(text: string, expected: string): Parsed<Record<string, unknown>> {
  if (text.trim() === '') return fail('empty', expected, text, 'an empty line');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    return fail(
      'not-json',
      expected,
      text,
      `not JSON: ${(cause as Error).message}; a crashed agent may have cut the line short`,
      [],
      cause,
    );
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(
      'not-object',
      expected,
      text,
      `a JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}`,
    );
  }
  return { ok: true, value: value as Record<string, unknown> };
}

function validate<T>(
  schema: z.ZodType<T>,
  json: Record<string, unknown>,
  text: string,
  expected: string,
  what: string,
): Parsed<T> {
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const issues = result.error.issues.map(
    (issue) => `${formatPath(issue.path) || '(line)'}: ${issue.message}, got ${valueAt(json, issue.path)}`,
  );
  const id = typeof json.id === 'string' ? ` ${JSON.stringify(json.id)}` : '';
  return fail('invalid-fields', expected, text, `${what}${id} has bad fields: ${issues.join('; ')}`, issues);
}

/** Parses one stdout line of `prunelab-agent run` (a trailing '\r' or '\n' is ignored). */
export function parseAgentOutputLine(line: string): Parsed<AgentOutputLine> {
  const text = line.replace(/[\r\n]+$/, '');
  const json = parseJsonObject(text, OUTPUT_TYPES);
  if (!json.ok) return json;
  const value = json.value;
  if (value.type === 'done') return validate(doneSchema, value, text, OUTPUT_TYPES, 'done line');
  if (value.type !== 'result') {
    return fail('unknown-type', OUTPUT_TYPES, text, `type ${JSON.stringify(value.type) ?? 'missing'}`);
  }
  if (value.status === 'ok') return validate(okResultSchema, value, text, OUTPUT_TYPES, 'ok result');
  if (value.status === 'error') return validate(errorResultSchema, value, text, OUTPUT_TYPES, 'error result');
  return fail(
    'invalid-fields',
    OUTPUT_TYPES,
    text,
    `a result needs status "ok" or "error", got ${valueAt(value, ['status'])}`,
    [`status: expected "ok" or "error", got ${valueAt(value, ['status'])}`],
  );
}

/**
 * Parses one stdout line of a `run` whose plan holds network lines (`op: network`): their ok results have
 * their own shape (per-layer entries, `medianNs`); errors and the done line are as for cases.
 */
export function parseNetworkOutputLine(line: string): Parsed<NetworkResultLine | ErrorResultLine | DoneLine> {
  const text = line.replace(/[\r\n]+$/, '');
  const json = parseJsonObject(text, OUTPUT_TYPES);
  if (!json.ok) return json;
  const value = json.value;
  if (value.type === 'done') return validate(doneSchema, value, text, OUTPUT_TYPES, 'done line');
  if (value.type === 'result' && value.status === 'error')
    return validate(errorResultSchema, value, text, OUTPUT_TYPES, 'error result');
  if (value.type === 'result' && value.status === 'ok' && value.op === 'network')
    return validate(networkResultSchema, value, text, OUTPUT_TYPES, 'network result');
  return fail(
    'unknown-type',
    'type result with op network, or type done',
    text,
    `type ${JSON.stringify(value.type) ?? 'missing'}, op ${JSON.stringify(value.op) ?? 'missing'}`,
  );
}

/** Parses the single stdout line of `prunelab-agent info`. */
export function parseAgentInfo(line: string): Parsed<AgentInfo> {
  const expected = 'type info';
  const text = line.replace(/[\r\n]+$/, '');
  const json = parseJsonObject(text, expected);
  if (!json.ok) return json;
  if (json.value.type !== 'info')
    return fail('unknown-type', expected, text, `type ${JSON.stringify(json.value.type) ?? 'missing'}`);
  return validate(infoSchema, json.value, text, expected, 'info line');
}
