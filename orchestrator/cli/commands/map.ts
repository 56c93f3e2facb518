/**
 * `prunelab map`: for every layer of a model, the pruning scheme, block and sparsity to run, from a device's
 * LUT. Read (LUT file, model) -> compute (orchestrator/map/compute.ts over cost-model/mappers, pure) ->
 * write (mapping.json), then optionally evaluate (--evaluate) and verify on a device (--verify-on).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_MEASUREMENT } from '../../../config/defaults.ts';
import { isScheme, parseBlockSize, type Scheme } from '../../../config/vocabulary.ts';
import type { MapperEvent } from '../../../cost-model/mappers/types.ts';
import { parseLutText } from '../../../cost-model/validate.ts';
import { UsageError } from '../../errors.ts';
import { withCostModelErrors } from '../../fit/errors.ts';
import { computeMapping, DEFAULT_GRID } from '../../map/compute.ts';
import { evaluateMapping, hookFiles } from '../../map/evaluate.ts';
import { mappingJson, mappingText, verificationText } from '../../map/mapping-file.ts';
import { verifyOnDevice } from '../../map/verify.ts';
import { loadModel } from '../../models/load-model.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';
import { selectDevices } from './sweep.ts';

interface MapArgs extends GlobalArgs {
  readonly lut: string;
  readonly model: string;
  readonly mapper: 'rule' | 'search';
  readonly latencyBudgetMs?: number;
  readonly sparsity?: number;
  readonly out: string;
  readonly threads: number;
  readonly seed: number;
  readonly schemes?: string;
  readonly blocks?: string;
  readonly sparsities?: string;
  readonly tolerance: number;
  readonly resolution: number;
  readonly evaluate?: string;
  readonly verifyOn?: string;
}

function list(text: string | undefined): string[] | undefined {
  return text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
}

function parseSchemes(text: string | undefined): Scheme[] | undefined {
  const names = list(text);
  if (names === undefined) return undefined;
  const bad = names.filter((n) => !isScheme(n));
  if (bad.length > 0)
    throw new UsageError(
      `--schemes: unknown scheme ${bad.join(', ')}; expected names like unstructured,pattern,bcr`,
      { option: '--schemes' },
    );
  return names as Scheme[];
}

function parseBlocks(text: string | undefined): string[] | undefined {
  const names = list(text);
  if (names === undefined) return undefined;
  const bad = names.filter((n) => parseBlockSize(n) === undefined);
  if (bad.length > 0)
    throw new UsageError(`--blocks: expected BRxBC sizes such as 8x4,4x1; got ${bad.join(', ')}`, {
      option: '--blocks',
    });
  return names;
}

function parseSparsities(text: string | undefined): number[] | undefined {
  const names = list(text);
  if (names === undefined) return undefined;
  const values = names.map(Number);
  if (values.some((v) => !(v > 0 && v < 1))) {
    throw new UsageError(`--sparsities: expected fractions in (0, 1) such as 0.5,0.75,0.9; got ${text}`, {
      option: '--sparsities',
    });
  }
  return values;
}

function progressPrinter(context: CliContext): (event: MapperEvent) => void {
  let lastMs = 0;
  return (event) => {
    if (event.type === 'phase') {
      context.output.err(`map: ${event.phase}...\n`);
      return;
    }
    const now = performance.now();
    if (now - lastMs < 500 && event.done !== event.total) return; // a line every half second at most
    lastMs = now;
    context.output.err(
      `map: ${event.phase} ${event.done}/${event.total} objective ${event.objective.toPrecision(6)}\n`,
    );
  };
}

export function mapCommand(context: CliContext): CommandModule<GlobalArgs, MapArgs> {
  return {
    command: 'map',
    describe:
      "Choose each layer's pruning scheme, block and sparsity from a device LUT (writes mapping.json)",
    builder: (yargs: Argv<GlobalArgs>) =>
      yargs
        .option('lut', {
          type: 'string',
          demandOption: true,
          describe: 'lut-<device>.json written by `prunelab fit`',
        })
        .option('model', {
          type: 'string',
          demandOption: true,
          describe: 'built-in model name or an .onnx file',
        })
        .option('mapper', {
          choices: ['rule', 'search'] as const,
          default: 'search' as const,
          describe: 'rule-based or search-based mapper',
        })
        .option('latency-budget-ms', {
          type: 'number',
          describe: 'search: maximise the proxy with predicted latency <= this',
        })
        .option('sparsity', {
          type: 'number',
          describe:
            "search: minimise latency at this overall sparsity (default 0.75); rule: the layers' sparsity",
        })
        .option('out', { type: 'string', default: 'mapping.json', describe: 'where to write the mapping' })
        .option('threads', { type: 'number', default: 1, describe: 'thread count of the LUT entries to use' })
        .option('seed', {
          type: 'number',
          default: 1,
          describe: "seed of the agent's weights (built-in models) and of verification",
        })
        .option('schemes', { type: 'string', describe: 'schemes to consider (default: those in the LUT)' })
        .option('blocks', { type: 'string', describe: 'block sizes to consider (default: those in the LUT)' })
        .option('sparsities', {
          type: 'string',
          describe: `per-layer sparsities to consider (default: ${DEFAULT_GRID.join(',')} and the LUT's)`,
        })
        .option('tolerance', {
          type: 'number',
          default: 0.1,
          describe: 'rule: latency tolerance from the fastest option',
        })
        .option('resolution', {
          type: 'number',
          default: 20000,
          describe: 'search: steps of the exact knapsack DP',
        })
        .option('evaluate', {
          type: 'string',
          describe:
            'command that gets the mapping file (last argument) and prints {"accuracy": x}; for an .onnx model it also finds the pruned model and masks in PRUNELAB_PRUNED_ONNX, PRUNELAB_MASKS_NPZ, PRUNELAB_MASKS_JSON',
        })
        .option('verify-on', {
          type: 'string',
          describe: 'device id or kind: run the mapped layers there in one agent call',
        })
        .example(
          '$0 map --lut lut-host_vm.json --model resnet18-cifar10 --mapper rule',
          'the rule mapper at sparsity 0.75',
        )
        .example(
          '$0 map --lut lut.json --model net.onnx --latency-budget-ms 5 --verify-on host',
          'search under 5 ms, verified',
        ) as unknown as Argv<MapArgs>,
    handler: async (args: ArgumentsCamelCase<MapArgs>) => {
      if (args.latencyBudgetMs !== undefined && !(args.latencyBudgetMs > 0)) {
        throw new UsageError(
          `--latency-budget-ms: expected a positive number of ms; got ${args.latencyBudgetMs}`,
          { option: '--latency-budget-ms' },
        );
      }
      if (args.sparsity !== undefined && !(args.sparsity > 0 && args.sparsity < 1)) {
        throw new UsageError(`--sparsity: expected a fraction in (0, 1); got ${args.sparsity}`, {
          option: '--sparsity',
        });
      }
      if (args.mapper === 'rule' && args.latencyBudgetMs !== undefined) {
        throw new UsageError(
          '--latency-budget-ms goes with --mapper search; the rule mapper takes --sparsity',
          { option: '--latency-budget-ms' },
        );
      }
      if (!(Number.isInteger(args.threads) && args.threads >= 1)) {
        throw new UsageError(`--threads: expected a whole number >= 1; got ${args.threads}`, {
          option: '--threads',
        });
      }
      let lutText: string;
      try {
        lutText = await readFile(args.lut, 'utf8');
      } catch (error) {
        throw new UsageError(
          `--lut: cannot read ${resolve(args.lut)} (${(error as Error).message}); expected a file written by \`prunelab fit\``,
          { option: '--lut' },
          { cause: error },
        );
      }
      const lut = withCostModelErrors(() => parseLutText(lutText, args.lut));
      const model = await loadModel(args.model, args.seed);
      const schemes = parseSchemes(args.schemes);
      const blocks = parseBlocks(args.blocks);
      const sparsities = parseSparsities(args.sparsities);
      const tolerance = {
        conv3x3: args.tolerance,
        conv1x1: args.tolerance,
        fc: args.tolerance,
        other: args.tolerance,
      };
      const result = withCostModelErrors(() =>
        computeMapping({
          lut,
          modelName: model.name,
          layers: model.layers,
          mapper: args.mapper,
          threads: args.threads,
          seed: args.seed,
          tolerance,
          resolution: args.resolution,
          progress: progressPrinter(context),
          ...(args.latencyBudgetMs === undefined ? {} : { latencyBudgetNs: args.latencyBudgetMs * 1e6 }),
          ...(args.sparsity === undefined ? {} : { sparsity: args.sparsity }),
          ...(schemes === undefined ? {} : { schemes }),
          ...(blocks === undefined ? {} : { blocks }),
          ...(sparsities === undefined ? {} : { sparsities }),
        }),
      );
      const mappingContext = {
        lutPath: args.lut,
        lut,
        model: {
          name: model.name,
          source: model.source,
          weightsFrom: model.weightsFrom,
          ...(model.sha256 === undefined ? {} : { sha256: model.sha256 }),
        },
        skippedNodes: model.skipped,
        createdAt: new Date().toISOString(),
      };
      const write = async (extra: Parameters<typeof mappingJson>[2]) => {
        const json = mappingJson(result, mappingContext, extra);
        await writeFile(args.out, `${JSON.stringify(json, null, 2)}\n`);
        return json;
      };
      let json = await write({});
      const extra: Parameters<typeof mappingJson>[2] = {};
      if (args.evaluate !== undefined) {
        const cachePath = join(dirname(resolve(args.out)), '.prunelab-evaluate-cache.json');
        const env = await hookFiles({ path: args.model, source: model.source }, args.out);
        extra.evaluation = await evaluateMapping(
          args.evaluate,
          resolve(args.out),
          result.choiceHash,
          cachePath,
          undefined,
          env,
        );
      }
      if (args.verifyOn !== undefined) {
        const [device] = selectDevices(await context.listDevices(), [args.verifyOn]);
        if (device === undefined)
          throw new UsageError(`--verify-on: no device ${args.verifyOn}`, { option: '--verify-on' });
        context.output.err(
          `map: verifying ${result.layers.length} layers on ${device.identity.id} (one agent call)...\n`,
        );
        const build = await context.buildAgent(device.identity.abi);
        extra.verification = await verifyOnDevice(device, build, result.layers, {
          seed: args.seed,
          threads: args.threads,
          measurement: DEFAULT_MEASUREMENT,
          timeoutMs: 30 * 60 * 1000,
        });
      }
      if (extra.evaluation !== undefined || extra.verification !== undefined) json = await write(extra);
      if (args.json) {
        printJson(context.output, json);
        return;
      }
      const text = [mappingText(result, mappingContext, args.out)];
      if (extra.evaluation !== undefined) {
        text.push(
          `evaluated accuracy ${extra.evaluation.accuracy} by \`${extra.evaluation.command}\`${extra.evaluation.cached ? ' (cached)' : ''}`,
        );
      }
      if (extra.verification !== undefined) text.push(verificationText(extra.verification));
      context.output.out(`${text.join('\n')}\n`);
    },
  };
}
