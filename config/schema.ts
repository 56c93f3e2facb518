/**
 * The `prunelab.yaml` schema: a raw object (parsed YAML with CLI flags merged in) -> PrunelabConfig.
 *
 * Built on zod 4, with one convention that makes its issues readable: every message in this schema is the
 * EXPECTED phrase ("a fraction in [0, 1)"), never a sentence. `checkConfig` then turns each zod issue into a
 * ConfigIssue: the path in config notation (`sweep.blocks[2]`, or `--blocks[2]` when the value came from a
 * flag), that phrase, the value actually found (read back from the raw input), and the valid choices for
 * enumerations and unknown fields. Missing fields take the embedded defaults (config/defaults.ts).
 */
import * as z from 'zod';
import {
  DEFAULT_ADB,
  DEFAULT_APPIUM_DEVICE,
  DEFAULT_CONFIG,
  DEFAULT_LAB,
  DEFAULT_MEASUREMENT,
  DEFAULT_NIGHTLY,
  DEFAULT_SCHEDULER,
  DEFAULT_SWEEP,
} from './defaults.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { isOnnxPath, MODEL_NAMES } from './models/index.ts';
import { closestChoice } from './suggest.ts';
import type { PrunelabConfig, StoreConfig } from './types.ts';
import { BACKENDS, formatBlockSize, parseBlockSize, SCHEMES } from './vocabulary.ts';

// The validated config's shapes live in config/types.ts (so config/defaults.ts, which this file applies, need
// not import it back); re-exported here for the callers that read them beside checkConfig.
export type {
  AdbDevicesConfig,
  AppiumDeviceConfig,
  BatchPolicy,
  DevicesConfig,
  HostDeviceConfig,
  LabConfig,
  NightlyConfig,
  PrunelabConfig,
  SchedulerConfig,
  SentinelConfig,
  StoreConfig,
  SweepConfig,
} from './types.ts';

/** Where the config's store lives: `store.url` when set, else `store.path`. */
export function storeTarget(store: StoreConfig): string {
  return store.url ?? store.path;
}

// ---------------------------------------------------------------------------------------------------------
// Field schemas. Each `error` string is the expected phrase shown to the user.

/** The agent's PL_MAX_CPUS (device-agent/src/layer.h). */
const MAX_THREADS = 64;

function integer(expected: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.int({ error: expected }).min(min, { error: expected }).max(max, { error: expected });
}

function positiveNumber(expected: string) {
  return z.number({ error: expected }).positive({ error: expected });
}

/** A non-empty list without repeats (a repeat would only duplicate cases); `keyOf` says when two are equal. */
function uniqueList<T extends z.ZodType>(item: T, what: string, keyOf: (value: z.output<T>) => string) {
  const expected = `a non-empty list of ${what}`;
  return z
    .array(item, { error: expected })
    .min(1, { error: expected })
    .superRefine((items, ctx) => {
      const firstIndex = new Map<string, number>();
      items.forEach((value, index) => {
        const key = keyOf(value);
        const first = firstIndex.get(key);
        if (first === undefined) firstIndex.set(key, index);
        else {
          ctx.addIssue({
            code: 'custom',
            path: [index],
            message: `no repeated ${what}`,
            params: { found: `${key} again (already at index ${first})` },
          });
        }
      });
    });
}

/** A strict section: unknown fields are errors (a typo would otherwise be silently ignored). */
function section<Shape extends z.ZodRawShape>(shape: Shape) {
  const expected = `a mapping with the fields ${Object.keys(shape).join(', ')}`;
  return z.strictObject(shape, { error: (issue) => (issue.code === 'invalid_type' ? expected : undefined) });
}

const BLOCK_EXPECTED = 'a block size BRxBC (rows x columns, positive integers), e.g. 8x4';
const blockSchema = z.unknown().transform((value, ctx) => {
  const block = typeof value === 'string' ? parseBlockSize(value) : undefined;
  if (block === undefined) {
    ctx.addIssue({ code: 'custom', message: BLOCK_EXPECTED, input: value });
    return z.NEVER;
  }
  return block;
});

const FRACTION_EXPECTED = 'a sparsity in [0, 1) (the fraction of weights removed)';
const sparsitySchema = z
  .number({ error: FRACTION_EXPECTED })
  .min(0, { error: FRACTION_EXPECTED })
  .lt(1, { error: FRACTION_EXPECTED });

const measurementSchema = section({
  warmup: integer('an integer >= 0 (untimed runs)', 0).default(DEFAULT_MEASUREMENT.warmup),
  minReps: integer('an integer >= 1', 1).default(DEFAULT_MEASUREMENT.minReps),
  minTimeMs: z
    .number({ error: 'a number of ms >= 0' })
    .min(0, { error: 'a number of ms >= 0' })
    .default(DEFAULT_MEASUREMENT.minTimeMs),
  maxReps: integer('an integer >= 1', 1).default(DEFAULT_MEASUREMENT.maxReps),
  maxTimeMs: positiveNumber('a number of ms > 0').default(DEFAULT_MEASUREMENT.maxTimeMs),
}).superRefine((policy, ctx) => {
  // Caps below the minimums would silently override them (the agent treats max* as hard caps).
  if (policy.maxReps < policy.minReps) {
    ctx.addIssue({ code: 'custom', path: ['maxReps'], message: `an integer >= minReps (${policy.minReps})` });
  }
  if (policy.maxTimeMs < policy.minTimeMs) {
    ctx.addIssue({
      code: 'custom',
      path: ['maxTimeMs'],
      message: `a number >= minTimeMs (${policy.minTimeMs})`,
    });
  }
});

const MODEL_EXPECTED = `a built-in model (one of ${MODEL_NAMES.join(', ')}) or a path to a .onnx file`;
/** A built-in table's name, or an ONNX file (read by the orchestrator, not here: config/ reads no files). */
const modelSchema = z.string({ error: MODEL_EXPECTED }).superRefine((text, ctx) => {
  if ((MODEL_NAMES as readonly string[]).includes(text) || isOnnxPath(text)) return;
  // The built-in names as choices, so a misspelt one gets its closest name suggested.
  ctx.addIssue({ code: 'custom', message: MODEL_EXPECTED, params: { choices: [...MODEL_NAMES] } });
});

const sweepSchema = section({
  models: uniqueList(modelSchema, 'models', (name) => `'${name}'`).default([...DEFAULT_SWEEP.models]),
  perLayer: z.boolean({ error: 'true or false' }).default(DEFAULT_SWEEP.perLayer),
  schemes: uniqueList(z.enum(SCHEMES), 'schemes', (scheme) => `'${scheme}'`).default([
    ...DEFAULT_SWEEP.schemes,
  ]),
  blocks: uniqueList(blockSchema, 'block sizes', (block) => `'${formatBlockSize(block)}'`).default([
    ...DEFAULT_SWEEP.blocks,
  ]),
  sparsities: uniqueList(sparsitySchema, 'sparsities', String).default([...DEFAULT_SWEEP.sparsities]),
  threads: uniqueList(
    integer(`an integer from 1 to ${MAX_THREADS} (worker threads)`, 1, MAX_THREADS),
    'thread counts',
    String,
  ).default([...DEFAULT_SWEEP.threads]),
  backends: uniqueList(
    z.enum(BACKENDS, { error: `a backend: one of ${BACKENDS.join(', ')}` }),
    'backends',
    (backend) => `'${backend}'`,
  ).default([...DEFAULT_SWEEP.backends]),
  seed: integer('an integer >= 0', 0).default(DEFAULT_SWEEP.seed),
  measurement: measurementSchema.prefault({}),
  batch: section({
    maxCases: integer('an integer >= 1', 1).default(DEFAULT_SWEEP.batch.maxCases),
    targetMs: positiveNumber('a number of ms > 0').default(DEFAULT_SWEEP.batch.targetMs),
  }).prefault({}),
});

const HOST_PORT_EXPECTED = 'host:port with a port from 1 to 65535, e.g. 127.0.0.1:5037';
const hostPortSchema = z.string({ error: HOST_PORT_EXPECTED }).refine(
  (text) => {
    const match = /^([^\s:]+):(\d{1,5})$/.exec(text);
    const port = Number(match?.[2]);
    return match !== null && port >= 1 && port <= 65535;
  },
  { error: HOST_PORT_EXPECTED },
);

const devicesSchema = section({
  host: section({ enabled: z.boolean({ error: 'true or false' }).default(true) }).prefault({}),
  adb: section({
    enabled: z.boolean({ error: 'true or false' }).default(DEFAULT_ADB.enabled),
    servers: z
      .array(hostPortSchema, { error: 'a list of host:port, e.g. [127.0.0.1:5037]' })
      .default([...DEFAULT_ADB.servers]),
    startServer: z.boolean({ error: 'true or false' }).default(DEFAULT_ADB.startServer),
    workDir: z
      .string({ error: 'an absolute folder on the phone, e.g. /data/local/tmp/prunelab' })
      .regex(/^\/[^\s']*$/, { error: 'an absolute folder on the phone, e.g. /data/local/tmp/prunelab' })
      .default(DEFAULT_ADB.workDir),
    pollMs: positiveNumber('a number of ms > 0').default(DEFAULT_ADB.pollMs),
    reconnectTcp: z.boolean({ error: 'true or false' }).default(DEFAULT_ADB.reconnectTcp),
  }).prefault({}),
  appium: z
    .array(
      section({
        name: z.string({ error: 'a non-empty name' }).min(1, { error: 'a non-empty name' }),
        url: z.url({
          protocol: /^https?$/,
          error: 'an http(s) URL of an Appium server, e.g. http://127.0.0.1:4723',
        }),
        capabilities: z.record(z.string(), z.unknown(), { error: 'a mapping of capabilities' }).default({}),
        workDir: z
          .string({ error: 'an absolute folder on the phone, e.g. /data/local/tmp/prunelab' })
          .regex(/^\/[^\s']*$/, { error: 'an absolute folder on the phone, e.g. /data/local/tmp/prunelab' })
          .default(DEFAULT_APPIUM_DEVICE.workDir),
        pollMs: positiveNumber('a number of ms > 0').default(DEFAULT_APPIUM_DEVICE.pollMs),
        commandTimeoutMs: positiveNumber('a number of ms > 0').default(
          DEFAULT_APPIUM_DEVICE.commandTimeoutMs,
        ),
      }),
      { error: 'a list of Appium phones' },
    )
    .default([])
    .superRefine((entries, ctx) => {
      // The name is part of the device id: two entries with one name would be one device in the store.
      entries.forEach((entry, index) => {
        if (entries.findIndex((other) => other.name === entry.name) !== index)
          ctx.addIssue({ code: 'custom', path: [index, 'name'], message: 'a name no other entry has' });
      });
    }),
});

const FRACTION_POSITIVE = 'a fraction in (0, 1]';
const fractionPositive = z
  .number({ error: FRACTION_POSITIVE })
  .positive({ error: FRACTION_POSITIVE })
  .max(1, { error: FRACTION_POSITIVE });

const sentinelSchema = section({
  name: z
    .string({ error: 'a short name of letters, digits and -_.' })
    .regex(/^[A-Za-z0-9_.-]+$/, { error: 'a short name of letters, digits and -_.' }),
  op: z.enum(['conv', 'fc'], { error: 'conv or fc' }),
  cin: integer('an integer >= 1', 1),
  cout: integer('an integer >= 1', 1),
  side: integer('an integer >= 1 (conv input side)', 1).default(1),
  k: integer('an integer >= 1 (conv kernel size)', 1).default(1),
  scheme: z.enum(SCHEMES),
  block: blockSchema.transform(formatBlockSize).optional(),
  sparsity: sparsitySchema.default(0),
});

const nightlySchema = section({
  sentinels: uniqueList(sentinelSchema, 'sentinels', (sentinel) => `'${sentinel.name}'`).default(
    DEFAULT_NIGHTLY.sentinels.map((sentinel) => ({ ...sentinel })),
  ),
  sentinelEveryBatches: integer('an integer >= 1 (sweep batches)', 1).default(
    DEFAULT_NIGHTLY.sentinelEveryBatches,
  ),
  historyNights: integer('an integer >= 1 (nights)', 1).default(DEFAULT_NIGHTLY.historyNights),
  minHistoryNights: integer('an integer >= 1 (nights)', 1).default(DEFAULT_NIGHTLY.minHistoryNights),
  noiseK: positiveNumber('a number > 0 (times the robust spread)').default(DEFAULT_NIGHTLY.noiseK),
  minThreshold: fractionPositive.default(DEFAULT_NIGHTLY.minThreshold),
  maxSentinelSpread: positiveNumber('a relative spread > 0, e.g. 0.1').default(
    DEFAULT_NIGHTLY.maxSentinelSpread,
  ),
  maxFailedShare: z
    .number({ error: 'a fraction in [0, 1]' })
    .min(0, { error: 'a fraction in [0, 1]' })
    .max(1, { error: 'a fraction in [0, 1]' })
    .default(DEFAULT_NIGHTLY.maxFailedShare),
  confirmRounds: integer('an integer >= 1', 1).default(DEFAULT_NIGHTLY.confirmRounds),
  expectDevices: z
    .array(z.string({ error: 'a device id' }), { error: 'a list of device ids' })
    .default([...DEFAULT_NIGHTLY.expectDevices]),
  schedule: z
    .string({ error: 'a cron expression, e.g. "0 2 * * *"' })
    .min(1, { error: 'a cron expression, e.g. "0 2 * * *"' })
    .optional(),
  keepBuilds: integer('an integer >= 1', 1).default(DEFAULT_NIGHTLY.keepBuilds),
}).superRefine((nightly, ctx) => {
  if (nightly.minHistoryNights > nightly.historyNights) {
    ctx.addIssue({
      code: 'custom',
      path: ['minHistoryNights'],
      message: `an integer <= nightly.historyNights (${nightly.historyNights})`,
    });
  }
});

const configSchema = section({
  sweep: sweepSchema.prefault({}),
  devices: devicesSchema.prefault({}),
  scheduler: section({
    retries: integer('an integer >= 0', 0).default(DEFAULT_SCHEDULER.retries),
    maxConsecutiveFailures: integer('an integer >= 1', 1).default(DEFAULT_SCHEDULER.maxConsecutiveFailures),
    caseTimeoutMs: positiveNumber('a number of ms > 0').default(DEFAULT_SCHEDULER.caseTimeoutMs),
    disconnectGraceMs: z
      .number({ error: 'a number of ms >= 0' })
      .min(0, { error: 'a number of ms >= 0' })
      .default(DEFAULT_SCHEDULER.disconnectGraceMs),
  }).prefault({}),
  lab: section({
    pinBigCluster: z.boolean({ error: 'true or false' }).default(DEFAULT_LAB.pinBigCluster),
    thermal: section({
      thresholdC: z.number({ error: 'a temperature in °C' }).default(DEFAULT_LAB.thermal.thresholdC),
      pollMs: positiveNumber('a number of ms > 0').default(DEFAULT_LAB.thermal.pollMs),
      maxWaitMs: z
        .number({ error: 'a number of ms >= 0' })
        .min(0, { error: 'a number of ms >= 0' })
        .default(DEFAULT_LAB.thermal.maxWaitMs),
      batchLimitC: z.number({ error: 'a temperature in °C' }).default(DEFAULT_LAB.thermal.batchLimitC),
    })
      .prefault({})
      .superRefine((thermal, ctx) => {
        // A limit under the start threshold would flag every batch that starts warm.
        if (thermal.batchLimitC < thermal.thresholdC) {
          ctx.addIssue({
            code: 'custom',
            path: ['batchLimitC'],
            message: `a temperature >= lab.thermal.thresholdC (${thermal.thresholdC} °C)`,
          });
        }
      }),
    freqDropTolerance: z
      .number({ error: 'a fraction in [0, 1)' })
      .min(0, { error: 'a fraction in [0, 1)' })
      .lt(1, { error: 'a fraction in [0, 1)' })
      .default(DEFAULT_LAB.freqDropTolerance),
    requeueFlagged: z.boolean({ error: 'true or false' }).default(DEFAULT_LAB.requeueFlagged),
    lockGovernor: z.boolean({ error: 'true or false' }).default(DEFAULT_LAB.lockGovernor),
    disturbance: section({
      tolerance: z
        .number({ error: 'a fraction >= 0, e.g. 0.1 for 10% slower' })
        .min(0, { error: 'a fraction >= 0, e.g. 0.1 for 10% slower' })
        .default(DEFAULT_LAB.disturbance.tolerance),
      remeasures: z
        .number({ error: 'a whole number >= 0 (0: never measure again)' })
        .int({ error: 'a whole number >= 0 (0: never measure again)' })
        .min(0, { error: 'a whole number >= 0 (0: never measure again)' })
        .default(DEFAULT_LAB.disturbance.remeasures),
      calmWaitMs: z
        .number({ error: 'a number of ms >= 0' })
        .min(0, { error: 'a number of ms >= 0' })
        .default(DEFAULT_LAB.disturbance.calmWaitMs),
    }).prefault({}),
  }).prefault({}),
  store: section({
    path: z
      .string({ error: 'a file path, e.g. prunelab.db' })
      .min(1, { error: 'a file path, e.g. prunelab.db' })
      .default(DEFAULT_CONFIG.store.path),
    url: z
      .string({ error: 'a PostgreSQL URL, e.g. postgres://prunelab@db-host/prunelab' })
      .regex(/^postgres(ql)?:\/\/[^/]+\/[^/]+/i, {
        error: 'a PostgreSQL URL with a host and a database, e.g. postgres://prunelab@db-host/prunelab',
      })
      .optional(),
  }).prefault({}),
  nightly: nightlySchema.prefault({}),
});

// ---------------------------------------------------------------------------------------------------------
// Issue translation.

const TYPE_PHRASES: Readonly<Record<string, string>> = {
  number: 'a number',
  int: 'an integer',
  string: 'a text string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

/** Fallback expected phrases for issues whose schema set none. */
const genericExpected: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return TYPE_PHRASES[issue.expected] ?? `a value of type ${issue.expected}`;
    case 'invalid_value':
      return `one of ${issue.values.map(String).join(', ')}`;
    case 'too_small':
      return `a value ${issue.inclusive ? '>=' : '>'} ${issue.minimum}`;
    case 'too_big':
      return `a value ${issue.inclusive ? '<=' : '<'} ${issue.maximum}`;
    default:
      return undefined;
  }
};

/** The value found at a path of the raw input, for "got ...". */
function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let value = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/** How a found value is shown: strings quoted, so `'bcrr'` and `'8by4'` stand out. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** `['sweep', 'blocks', 2]` -> `sweep.blocks[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === 'number') return `${text}[${part}]`;
    const name = String(part);
    return text === '' ? name : `${text}.${name}`;
  }, '');
}

/** The names of the fields a strict section accepts, found by walking the schema along `path`. */
function knownFields(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = configSchema;
  const unwrap = (): void => {
    for (;;) {
      if (
        schema instanceof z.ZodDefault ||
        schema instanceof z.ZodPrefault ||
        schema instanceof z.ZodOptional
      ) {
        schema = schema.unwrap() as z.ZodType;
      } else if (schema instanceof z.ZodPipe) schema = schema.in as z.ZodType;
      else return;
    }
  };
  for (const part of path) {
    unwrap();
    if (schema instanceof z.ZodObject && typeof part === 'string') {
      const next = (schema.shape as Record<string, z.ZodType>)[part];
      if (next === undefined) return [];
      schema = next;
    } else if (schema instanceof z.ZodArray && typeof part === 'number') schema = schema.element as z.ZodType;
    else return [];
  }
  unwrap();
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** A ConfigIssue plus the raw path, so the loader can find the YAML node (line, column). */
export interface LocatedIssue extends ConfigIssue {
  readonly rawPath: readonly PropertyKey[];
  /** True when the value came from a CLI flag rather than the file. */
  readonly fromFlag: boolean;
}

/** Renames a path that a flag supplied: `sweep.schemes[1]` -> `--schemes[1]`. */
function flagPath(path: string, flagPaths: ReadonlyMap<string, string>): string | undefined {
  for (const [configPath, flag] of flagPaths) {
    if (path === configPath) return flag;
    if (path.startsWith(`${configPath}[`) || path.startsWith(`${configPath}.`)) {
      return flag + path.slice(configPath.length);
    }
  }
  return undefined;
}

function translate(
  issue: z.core.$ZodIssue,
  raw: unknown,
  flagPaths: ReadonlyMap<string, string>,
): LocatedIssue[] {
  const place = (rawPath: readonly PropertyKey[]) => {
    const path = formatPath(rawPath);
    const flag = flagPath(path, flagPaths);
    return { rawPath, path: flag ?? path, fromFlag: flag !== undefined };
  };
  if (issue.code === 'unrecognized_keys') {
    const fields = knownFields(issue.path);
    return issue.keys.map((key) => {
      const suggestion = closestChoice(key, fields);
      return {
        ...place([...issue.path, key]),
        expected: `a known field of ${formatPath(issue.path) || 'the top level'}: one of ${fields.join(', ')}`,
        found: `an unknown field '${key}'`,
        choices: fields,
        ...(suggestion === undefined ? {} : { suggestion }),
      };
    });
  }
  const params =
    issue.code === 'custom'
      ? (issue.params as { found?: unknown; choices?: unknown } | undefined)
      : undefined;
  const found = typeof params?.found === 'string' ? params.found : describeValue(valueAt(raw, issue.path));
  const choices =
    issue.code === 'invalid_value'
      ? issue.values.map(String)
      : Array.isArray(params?.choices)
        ? params.choices.map(String)
        : undefined;
  const value = valueAt(raw, issue.path);
  const suggestion =
    choices !== undefined && typeof value === 'string' ? closestChoice(value, choices) : undefined;
  return [
    {
      ...place(issue.path),
      expected: issue.message,
      found,
      ...(choices === undefined ? {} : { choices }),
      ...(suggestion === undefined ? {} : { suggestion }),
    },
  ];
}

export type CheckResult =
  | { readonly ok: true; readonly config: PrunelabConfig }
  | { readonly ok: false; readonly issues: readonly LocatedIssue[]; readonly cause: z.ZodError };

/**
 * Validates without throwing. `flagPaths` maps config paths supplied by CLI flags (`sweep.schemes`) to
 * the flag's name (`--schemes`), so those issues are reported under the flag.
 */
export function checkConfig(raw: unknown, flagPaths: ReadonlyMap<string, string> = new Map()): CheckResult {
  // An empty YAML file parses to null: treat it as an empty mapping (all defaults).
  const input = raw ?? {};
  const result = configSchema.safeParse(input, { error: genericExpected });
  if (result.success) return { ok: true, config: result.data satisfies PrunelabConfig };
  return {
    ok: false,
    issues: result.error.issues.flatMap((issue) => translate(issue, input, flagPaths)),
    cause: result.error,
  };
}

/** Validates a raw object and returns the config (not frozen: loadConfig freezes). Throws ConfigError. */
export function validateConfig(
  raw: unknown,
  sourceName: string,
  flagPaths: ReadonlyMap<string, string> = new Map(),
): PrunelabConfig {
  const result = checkConfig(raw, flagPaths);
  if (result.ok) return result.config;
  throw new ConfigError(
    sourceName,
    result.issues.map(({ rawPath: _rawPath, fromFlag: _fromFlag, ...issue }) => issue),
    { cause: result.cause },
  );
}
