/**
 * Loading a LUT: JSON text (or a parsed value) in, a checked Lut out. Every load goes through here: the
 * version first (a LUT of another version gets its own message, not a list of schema errors), then
 * `lut.schema.json` with ajv (all problems at once), then the invariants the schema cannot say (monotone
 * curves, keys that match their shapes). Pure: the caller reads the file.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { shapeKey } from '../config/shape.ts';
import { BLOCK_SCHEMES } from '../config/vocabulary.ts';
import { type CostModelIssue, LutFormatError, LutVersionError } from './errors.ts';
import { entryId, opKindOf } from './family.ts';
import lutSchema from './lut.schema.json' with { type: 'json' };
import { LUT_SCHEMA_VERSION, type Lut } from './types.ts';

let compiled: ValidateFunction | undefined;

/** Compiled on first use (no work at import time) and kept: ajv compiles a schema to a function. */
function validator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true }).compile(
    lutSchema,
  );
  return compiled;
}

/** `/entries/3/curve` -> `lut.entries[3].curve`. */
export function pointerToPath(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  return parts.reduce(
    (path, part) => (/^[0-9]+$/.test(part) ? `${path}[${part}]` : `${path}.${part}`),
    'lut',
  );
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${show(value)}`;
}

function describe(error: ErrorObject): CostModelIssue {
  const path = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: `${path}.${String(params.missingProperty)}`, message: 'missing required field' };
    case 'additionalProperties':
      return {
        path: `${path}.${String(params.additionalProperty)}`,
        message: `unknown field (not part of ${LUT_SCHEMA_VERSION})`,
      };
    case 'type':
      return { path, message: `expected ${String(params.type)}; got ${typeName(error.data)}` };
    case 'const':
      return { path, message: `expected ${show(params.allowedValue)}; got ${show(error.data)}` };
    case 'enum':
      return {
        path,
        message: `expected one of ${(params.allowedValues as unknown[]).map(show).join(', ')}; got ${show(error.data)}`,
      };
    default:
      return { path, message: `${error.message ?? 'invalid'}; got ${show(error.data)}` };
  }
}

function invariantIssues(lut: Lut): CostModelIssue[] {
  const issues: CostModelIssue[] = [];
  const seen = new Set<string>();
  lut.entries.forEach((entry, i) => {
    const at = `lut.entries[${i}]`;
    const expectedKey = shapeKey(entry.shape);
    if (entry.shapeKey !== expectedKey) {
      issues.push({
        path: `${at}.shapeKey`,
        message: `expected ${show(expectedKey)} (from .shape); got ${show(entry.shapeKey)}`,
      });
    }
    if (entry.opKind !== opKindOf(entry.shape)) {
      issues.push({
        path: `${at}.opKind`,
        message: `expected ${show(opKindOf(entry.shape))} for its shape; got ${show(entry.opKind)}`,
      });
    }
    const isBlockScheme = BLOCK_SCHEMES.includes(entry.scheme);
    if (isBlockScheme !== (entry.block !== null)) {
      issues.push({
        path: `${at}.block`,
        message: isBlockScheme
          ? `expected a block size for scheme ${entry.scheme}; got null`
          : `expected null (scheme ${entry.scheme} has no blocks); got ${show(entry.block)}`,
      });
    }
    const id = entryId(entry.shapeKey, entry.scheme, entry.block, entry.threads);
    if (seen.has(id)) issues.push({ path: at, message: `duplicate entry ${show(id)}` });
    seen.add(id);
    entry.curve.knots.forEach((knot, k) => {
      const previous = entry.curve.knots[k - 1];
      const where = `${at}.curve.knots[${k}]`;
      if (previous !== undefined && !(knot.density > previous.density)) {
        issues.push({
          path: `${where}.density`,
          message: `expected densities in increasing order; got ${previous.density} then ${knot.density}`,
        });
      }
      if (previous !== undefined && knot.latencyNs < previous.latencyNs) {
        issues.push({
          path: `${where}.latencyNs`,
          message: `expected a curve non-decreasing in density; got ${previous.latencyNs} then ${knot.latencyNs}`,
        });
      }
      if (!(knot.lowNs <= knot.latencyNs && knot.latencyNs <= knot.highNs)) {
        issues.push({
          path: where,
          message: `expected lowNs <= latencyNs <= highNs; got ${knot.lowNs}, ${knot.latencyNs}, ${knot.highNs}`,
        });
      }
    });
  });
  lut.predictors.forEach((predictor, i) => {
    const { model } = predictor;
    if (model.coefficients.length !== model.features.length) {
      issues.push({
        path: `lut.predictors[${i}].model.coefficients`,
        message: `expected one coefficient per feature (${model.features.length}); got ${model.coefficients.length}`,
      });
    }
  });
  return issues;
}

/** Checks a parsed value and returns it as a Lut. `source` names the origin (a path) in messages. */
export function parseLut(value: unknown, source: string): Lut {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LutFormatError(source, [
      { path: 'lut', message: `expected a JSON object; got ${typeName(value)}` },
    ]);
  }
  const version = (value as { schema?: unknown }).schema;
  if (typeof version === 'string' && version !== LUT_SCHEMA_VERSION) {
    throw new LutVersionError(source, version, LUT_SCHEMA_VERSION);
  }
  const validate = validator();
  if (!validate(value)) {
    throw new LutFormatError(source, (validate.errors ?? []).map(describe));
  }
  const lut = value as unknown as Lut;
  const issues = invariantIssues(lut);
  if (issues.length > 0) throw new LutFormatError(source, issues);
  return lut;
}

/** Parses JSON text (a file's content) and checks it. */
export function parseLutText(text: string, source: string): Lut {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LutFormatError(
      source,
      [
        {
          path: 'lut',
          message: `expected JSON; got a parse error: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
      { cause: error },
    );
  }
  return parseLut(value, source);
}

/** The text `prunelab fit` writes: stable key order (as built), two-space indent, final newline. */
export function serializeLut(lut: Lut): string {
  return `${JSON.stringify(lut, null, 2)}\n`;
}
