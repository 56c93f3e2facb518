/**
 * `prunelab map`: for every layer of a model, the pruning scheme, block and sparsity to run, from a device's
 * LUT. The handler checks the flags and calls `runMap` (orchestrator/map/run-map.ts): read (LUT file, model) ->
 * compute (pure) -> write (mapping.json), then optionally evaluate (--evaluate) and verify on a device
 * (--verify-on).
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { isBackend, isScheme, parseBlockSize, type Scheme } from '../../../config/vocabulary.ts';
import type { MapperEvent } from '../../../cost-model/index.ts';
import { UsageError } from '../../errors.ts';
import { DEFAULT_GRID } from '../../map/compute.ts';
import { type MapRequest, runMap } from '../../map/run-map.ts';
import { selectDevices } from '../../sweep/select-devices.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

interface MapArgs extends GlobalArgs {
  readonly lut: string;
  readonly model: string;
  readonly mapper: 'rule' | 'search';
  readonly latencyBudgetMs?: number;
  readonly sparsity?: number;
  readonly sensitivity?: string;
  readonly maxAccuracyDrop?: number;
  readonly evaluateWith?: string;
  readonly out: string;
  readonly threads: number;
  readonly backend?: string;
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

export function parseSchemes(text: string | undefined): Scheme[] | undefined {
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

export function parseBlocks(text: string | undefined): string[] | undefined {
  const names = list(text);
  if (names === undefined) return undefined;
  const bad = names.filter((n) => parseBlockSize(n) === undefined);
  if (bad.length > 0)
    throw new UsageError(`--blocks: expected BRxBC sizes such as 8x4,4x1; got ${bad.join(', ')}`, {
      option: '--blocks',
    });
  return names;
}

export function parseSparsities(text: string | undefined): number[] | undefined {
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

/** The flags, checked, as the use case's request. */
function mapRequestOf(args: MapArgs): MapRequest {
  if (args.latencyBudgetMs !== undefined && !(args.latencyBudgetMs > 0)) {
    throw new UsageError(
      `--latency-budget-ms: expected a positive number of ms; got ${args.latencyBudgetMs}`,
      {
        option: '--latency-budget-ms',
      },
    );
  }
  if (args.sparsity !== undefined && !(args.sparsity > 0 && args.sparsity < 1)) {
    throw new UsageError(`--sparsity: expected a fraction in (0, 1); got ${args.sparsity}`, {
      option: '--sparsity',
    });
  }
  if (args.maxAccuracyDrop !== undefined && !(args.maxAccuracyDrop >= 0 && args.maxAccuracyDrop <= 1)) {
    throw new UsageError(
      `--max-accuracy-drop: expected a fraction in [0, 1] (0.01 = one point of accuracy); got ${args.maxAccuracyDrop}`,
      { option: '--max-accuracy-drop' },
    );
  }
  if (args.mapper === 'rule' && args.maxAccuracyDrop !== undefined) {
    throw new UsageError('--max-accuracy-drop goes with --mapper search; the rule mapper takes --sparsity', {
      option: '--max-accuracy-drop',
    });
  }
  if (args.mapper === 'rule' && args.latencyBudgetMs !== undefined) {
    throw new UsageError('--latency-budget-ms goes with --mapper search; the rule mapper takes --sparsity', {
      option: '--latency-budget-ms',
    });
  }
  if (!(Number.isInteger(args.threads) && args.threads >= 1)) {
    throw new UsageError(`--threads: expected a whole number >= 1; got ${args.threads}`, {
      option: '--threads',
    });
  }
  if (args.backend !== undefined && !isBackend(args.backend)) {
    throw new UsageError(`--backend: expected cpu or gpu; got ${args.backend}`, { option: '--backend' });
  }
  const schemes = parseSchemes(args.schemes);
  const blocks = parseBlocks(args.blocks);
  const sparsities = parseSparsities(args.sparsities);
  return {
    lutPath: args.lut,
    model: args.model,
    mapper: args.mapper,
    outPath: args.out,
    threads: args.threads,
    seed: args.seed,
    ...(args.backend !== undefined && isBackend(args.backend) ? { backend: args.backend } : {}),
    tolerance: args.tolerance,
    resolution: args.resolution,
    ...(args.latencyBudgetMs === undefined ? {} : { latencyBudgetMs: args.latencyBudgetMs }),
    ...(args.sparsity === undefined ? {} : { sparsity: args.sparsity }),
    ...(args.maxAccuracyDrop === undefined ? {} : { maxAccuracyDrop: args.maxAccuracyDrop }),
    ...(args.sensitivity === undefined ? {} : { sensitivityPath: args.sensitivity }),
    ...(args.evaluateWith === undefined ? {} : { evaluateWith: args.evaluateWith }),
    ...(schemes === undefined ? {} : { schemes }),
    ...(blocks === undefined ? {} : { blocks }),
    ...(sparsities === undefined ? {} : { sparsities }),
    ...(args.evaluate === undefined ? {} : { evaluate: args.evaluate }),
    ...(args.verifyOn === undefined ? {} : { verifyOn: args.verifyOn }),
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
          describe:
            'search: maximise the proxy (with --sensitivity: minimise the summed measured drop) with predicted latency <= this',
        })
        .option('sparsity', {
          type: 'number',
          describe:
            "search: minimise latency at this overall sparsity (default 0.75); rule: the layers' sparsity",
        })
        .option('sensitivity', {
          type: 'string',
          describe:
            'sensitivity.json from `prunelab sensitivity` for this ONNX model: the accuracy term becomes the summed measured drops (unmeasured options refused)',
        })
        .option('max-accuracy-drop', {
          type: 'number',
          describe:
            'search with --sensitivity: the fastest mapping whose summed measured drop is <= this fraction',
        })
        .option('evaluate-with', {
          type: 'string',
          describe:
            'data (.npz/.npy, as `prunelab evaluate --data`): measure the mapping and every uniform baseline at equal measured drop with ONNX Runtime, one table',
        })
        .option('out', { type: 'string', default: 'mapping.json', describe: 'where to write the mapping' })
        .option('threads', { type: 'number', default: 1, describe: 'thread count of the LUT entries to use' })
        .option('backend', {
          type: 'string',
          describe:
            'cpu or gpu: the backend the LUT must be of (a GPU LUT is lut-<device>-gpu.json); --verify-on runs on it',
        })
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
          describe:
            "device id or kind: time the mapped, all-dense and best uniform networks end to end there (the agent's network op; an .onnx model with its own weights), then each mapped layer alone",
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
      const outcome = await runMap(
        {
          progress: progressPrinter(context),
          note: (text) => context.output.err(text),
          findDevice: async (selector) => selectDevices(await context.listDevices(), [selector])[0],
          buildAgent: (abi) => context.buildAgent(abi),
        },
        mapRequestOf(args),
      );
      if (args.json) printJson(context.output, outcome.json);
      else context.output.out(`${outcome.text}\n`);
    },
  };
}
