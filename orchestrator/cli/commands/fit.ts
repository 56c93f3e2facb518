/**
 * `prunelab fit`: the store's measurements -> one latency lookup table per device (`lut-<device>.json`,
 * schema prunelab.lut/v1, cost-model/README.md); with --suggest N, also the sweep config of the N planned
 * cases the LUT is least sure about. The handler checks the flags and calls `runFit` (orchestrator/fit/run-fit.ts:
 * read the store -> fit, pure -> write the files), then prints what it wrote.
 */
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { DEFAULT_STORE_PATH } from '../../../config/defaults.ts';
import { type ConfigOverrides, OVERRIDE_FLAGS } from '../../../config/load.ts';
import { loadConfigFile } from '../../../config/read.ts';
import { familyId } from '../../../cost-model/index.ts';
import { UsageError } from '../../errors.ts';
import type { FittedDevice } from '../../fit/fit-devices.ts';
import { runFit } from '../../fit/run-fit.ts';
import { WEIGHTS_CHOICES, type WeightsChoice } from '../../fit/weights.ts';
import { type CliContext, type GlobalArgs, printJson } from '../context.ts';

/** The sweep flags that shape the candidate cases of --suggest. */
const CANDIDATE_FLAGS = OVERRIDE_FLAGS.filter((flag) =>
  ['models', 'schemes', 'blocks', 'sparsities', 'threads'].includes(flag.key),
);

interface FitArgs extends GlobalArgs {
  readonly db: string;
  readonly device?: readonly string[];
  readonly agent?: string;
  readonly weights?: WeightsChoice;
  readonly out: string;
  readonly suggest?: number;
  readonly config?: string;
  readonly [flag: string]: unknown;
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

function describeLut(fitted: FittedDevice, path: string): string {
  const { lut } = fitted;
  const skipped = Object.entries(fitted.skippedBuilds);
  const lines = [
    `${path}: ${lut.entries.length} entries from ${fitted.points} measurements of ${fitted.deviceId} ` +
      `(agent ${lut.agentHash}; weights: ${lut.weights === undefined ? 'seeded' : `${lut.weights.kind}, files ${lut.weights.files.map((f) => f.slice(0, 12)).join(', ')}`})`,
    ...skipped.map(
      ([hash, count]) =>
        `  skipped ${count} measurements of agent build ${hash} (one build per LUT; --agent ${hash} to fit it)`,
    ),
    ...(fitted.disturbedDropped > 0
      ? [
          `  left out ${fitted.disturbedDropped} measurements that ran disturbed (probe over lab.disturbance.tolerance) where another run measured the same case calm`,
        ]
      : []),
    '  predictor per family (leave-one-shape-out on measured shapes):',
    ...lut.predictors.map((p) => {
      const head = `    ${familyId(p.family).padEnd(28)} ${String(p.shapes).padStart(3)} shapes `;
      if (p.accuracy === null)
        return `${head} no accuracy estimate (needs ${lut.settings.minShapesForAccuracy} shapes)`;
      const a = p.accuracy;
      const split = p.accuracyByDistance;
      const byDistance =
        split === undefined
          ? ''
          : `; within ±10%, shapes near another (1 octave): ${split.near === null ? 'none' : percent(split.near.within10)}, ` +
            `far: ${split.far === null ? 'none' : percent(split.far.within10)}`;
      return (
        `${head} ${percent(a.within10).padStart(4)} within ±10%, ${percent(a.within5).padStart(4)} within ±5%, ` +
        `MAPE ${percent(a.mape)} (${a.heldOut} held out; ${p.model.kind}, tile ${p.model.tileFloats}` +
        `${p.model.anchors === undefined ? '' : ', anchors'}${byDistance})`
      );
    }),
  ];
  return lines.join('\n');
}

function lutSummary(fitted: FittedDevice, path: string) {
  const { lut } = fitted;
  return {
    device: fitted.deviceId,
    backend: fitted.backend,
    path,
    agentHash: lut.agentHash,
    weights: lut.weights ?? { kind: 'seeded', files: [] },
    entries: lut.entries.length,
    points: fitted.points,
    skippedBuilds: fitted.skippedBuilds,
    disturbedDropped: fitted.disturbedDropped,
    predictors: lut.predictors.map((p) => ({
      family: p.family,
      shapes: p.shapes,
      points: p.points,
      kind: p.model.kind,
      tileFloats: p.model.tileFloats,
      accuracy: p.accuracy,
      accuracyByDistance: p.accuracyByDistance ?? null,
      anchors: p.model.anchors === undefined ? null : p.model.anchors.points.length,
    })),
  };
}

async function candidateConfig(args: FitArgs) {
  const overrides: Record<string, unknown> = {};
  for (const { key } of CANDIDATE_FLAGS) if (args[key] !== undefined) overrides[key] = args[key];
  return loadConfigFile(args.config, overrides as ConfigOverrides);
}

export function fitCommand(context: CliContext): CommandModule<GlobalArgs, FitArgs> {
  return {
    command: 'fit',
    describe: 'Fit a latency lookup table per device (lut-<device>.json) from the stored measurements',
    builder: (yargs: Argv<GlobalArgs>) => {
      let built = yargs
        .option('db', {
          type: 'string',
          default: DEFAULT_STORE_PATH,
          describe: 'SQLite file or postgres:// URL written by sweep',
        })
        .option('device', {
          type: 'string',
          array: true,
          describe: 'only this device id (repeatable; default: every device in the store)',
        })
        .option('agent', {
          type: 'string',
          describe: "fit this agent build hash (default: each device's most recently measured build)",
        })
        .option('weights', {
          choices: WEIGHTS_CHOICES,
          describe:
            "which measurements: seeded (the agent's weights), real (ONNX models' own), mixed (both in one LUT); " +
            'default auto: the one kind a device has, refused when it has both',
        })
        .option('out', { type: 'string', default: '.', describe: 'folder for lut-<device>.json' })
        .option('suggest', {
          type: 'number',
          describe: 'also write sweep-suggest-<device>.yaml: the N planned cases the LUT is least sure about',
        })
        .option('config', {
          type: 'string',
          describe: 'with --suggest: the sweep whose planned cases are the candidates (default: embedded)',
        });
      for (const flag of CANDIDATE_FLAGS) {
        built = built.option(flag.flag.slice(2), {
          type: 'string',
          describe: `with --suggest: ${flag.description} of the candidate cases (overrides ${flag.configPath.join('.')})`,
        });
      }
      return built
        .example(
          '$0 fit --db prunelab.db --out luts',
          'one lut-<device>.json per device (and lut-<device>-gpu.json for GPU cases) into ./luts',
        )
        .example(
          '$0 fit --device host:vm --suggest 20 --models resnet50-imagenet',
          'also the 20 ResNet-50 cases to measure next, as a sweep config',
        ) as unknown as Argv<FitArgs>;
    },
    handler: async (args: ArgumentsCamelCase<FitArgs>) => {
      if (args.suggest !== undefined && !(Number.isInteger(args.suggest) && args.suggest >= 1)) {
        throw new UsageError(
          `--suggest: expected a whole number of cases >= 1; got ${String(args.suggest)}`,
          {
            option: '--suggest',
          },
        );
      }
      const { written, suggestions } = await runFit((path, options) => context.openStore(path, options), {
        dbPath: args.db,
        outDir: args.out,
        ...(args.device === undefined ? {} : { deviceIds: args.device }),
        ...(args.agent === undefined ? {} : { agentHash: args.agent }),
        ...(args.weights === undefined ? {} : { weights: args.weights }),
        ...(args.suggest === undefined
          ? {}
          : { suggest: { count: args.suggest, config: await candidateConfig(args) } }),
      });
      if (args.json) {
        printJson(context.output, {
          luts: written.map(({ fitted: device, path }) => lutSummary(device, path)),
          ...(args.suggest === undefined ? {} : { suggestions }),
        });
        return;
      }
      const text = written.map(({ fitted: device, path }) => describeLut(device, path));
      for (const s of suggestions) {
        text.push(
          `${s.path}: the ${s.cases.length} least certain cases for ${s.device}; as a config it plans ` +
            `${s.planned} cases (a cross product). Run: npx prunelab sweep --config ${s.path} --db ${args.db}`,
        );
      }
      if (args.suggest !== undefined && suggestions.length === 0) {
        text.push('--suggest: every candidate case is already measured; nothing to suggest.');
      }
      context.output.out(`${text.join('\n')}\n`);
    },
  };
}
