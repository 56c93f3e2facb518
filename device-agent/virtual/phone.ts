/**
 * startVirtualPhone: the composition root of the virtual phone. It wires the Node adapters (TCP listener,
 * process runner, host files) to the protocol core (connection, shell and sync services), and owns the
 * phone's state: properties, thermal model, fake sysfs, faults. Nothing else constructs these. The parts
 * are module-level functions over one explicit `PhoneState`: the host folders and sysfs files
 * (`makePhonePaths`, `writeSysfs`, `writeSystem`), the sandbox checks (`probeSandbox`, `chooseArm64Launch`),
 * how commands are spawned (`commandSpawner`), the adb side (`serviceOpener`, `listenForAdb`) and `stopPhone`.
 */
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbDeviceConnection } from './connection.ts';
import {
  CONTROL_COMMAND,
  type PhoneSettings,
  runControlCommand,
  type SplitControl,
  splitControlCommand,
} from './control-command.ts';
import { createHostDeviceFiles } from './device-files.ts';
import { PhoneOptionError, PhoneToolError } from './errors.ts';
import { type FaultController, PhoneFaults } from './faults.ts';
import { FileTreeWriter, type TreeFile } from './file-tree.ts';
import { type Mount, resolveDevicePath } from './mounts.ts';
import { type ResolvedPhoneOptions, resolvePhoneOptions, type VirtualPhoneOptions } from './options.ts';
import type { ServiceOpener } from './ports.ts';
import {
  createProcessRunner,
  killTaggedProcesses,
  type ProcessRunner,
  type SpawnPlan,
} from './process-runner.ts';
import {
  CONTROL_MISPLACED_SCRIPT,
  DUMPSYS_SCRIPT,
  defaultProperties,
  deviceBanner,
  GETPROP_SCRIPT,
  isPropertyName,
  type PhoneAbi,
  productSlug,
  propertyFile,
} from './properties.ts';
import {
  bwrapArgs,
  DEVICE_TMP_DIR,
  DISK_FULL_TMPFS_BYTES,
  isAarch64ElfHeader,
  phoneEnvironment,
  prefixAarch64Commands,
  qemuAarch64Registration,
  type RootEntry,
  withPrivateBinfmt,
} from './sandbox.ts';
import { parseShellDestination, ShellService, TextService } from './shell-service.ts';
import { SyncService } from './sync-service.ts';
import { cpuTopology, dumpsysBattery, dumpsysPower, type PowerState, sysfsFiles } from './sysfs.ts';
import { listenTcp } from './tcp.ts';
import {
  advanceThermal,
  initialThermalState,
  releaseThermal,
  setThermal,
  type ThermalState,
} from './thermal.ts';
import { probe, requireTool } from './tools.ts';

/** Environment variable that marks a phone's commands (set only with detachedJobs). */
const DETACHED_JOB_TAG = 'PRUNELAB_VIRTUAL_PHONE';

export interface VirtualPhone {
  readonly port: number;
  /** The name the adb server gives the phone after `adb connect 127.0.0.1:PORT`. */
  readonly serial: string;
  readonly abi: PhoneAbi;
  readonly model: string;
  /** Host folder behind /data/local/tmp. */
  readonly sandboxDir: string;
  /** Host folder behind /sys (the fake sysfs). */
  readonly sysfsDir: string;
  /** How aarch64 binaries are started (arm64 phones): `binfmt`, `prefix`, or `none` on an x86_64 phone. */
  readonly arm64Launch: 'binfmt' | 'prefix' | 'none';
  readonly faults: FaultController;
  setProperty(key: string, value: string): void;
  setPower(change: Partial<PowerState>): void;
  /** Current CPU temperature of the thermal model (°C). */
  temperatureC(): number;
  /** Process groups of the commands running now (each command is one group). */
  liveProcessGroups(): readonly number[];
  /** Stops listening, resets the adb links, kills every command and removes the temporary folders. */
  stop(): Promise<void>;
}

/** Time a `prunelab-fault offline` reply gets to reach the host before the link is reset. */
const OFFLINE_GRACE_MS = 200;

function rootEntries(dir: string): RootEntry[] {
  return readdirSync(dir, { withFileTypes: true }).map((entry): RootEntry => {
    if (entry.isSymbolicLink())
      return { name: entry.name, kind: 'symlink', target: readlinkSync(join(dir, entry.name)) };
    return { name: entry.name, kind: entry.isDirectory() ? 'dir' : 'file' };
  });
}

function readsAsAarch64Elf(hostPath: string): boolean {
  try {
    if (!lstatSync(hostPath).isFile()) return false;
    const fd = openSync(hostPath, 'r');
    try {
      const header = new Uint8Array(20);
      readSync(fd, header, 0, 20, 0);
      return isAarch64ElfHeader(header);
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Single-quotes text for /bin/sh. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * Runs the `prunelab-fault` verbs at the start of a command line, several when joined by `;`. Undefined when
 * the line does not start with one.
 */
function runControlChain(
  commandLine: string,
  faults: FaultController,
  settings: PhoneSettings,
): { output: string; exitCode: number; rest: string } | undefined {
  const first = splitControlCommand(commandLine);
  if (first === undefined) return undefined;
  let output = '';
  let exitCode = 0;
  let control: SplitControl | undefined = first;
  let rest = '';
  while (control !== undefined) {
    const result = runControlCommand(control.args, faults, settings);
    output += result.output;
    exitCode = result.exitCode;
    rest = control.rest;
    const next = /^\s*;/.exec(rest);
    control = next === null ? undefined : splitControlCommand(rest.slice(next[0].length));
  }
  return { output, exitCode, rest };
}

/** The host tools a phone needs: bubblewrap always, qemu and unshare for an arm64 phone. */
interface PhoneTools {
  readonly bwrap: string;
  readonly qemu: string | undefined;
  readonly unshare: string | undefined;
}

function requirePhoneTools(config: ResolvedPhoneOptions): PhoneTools {
  const bwrap = requireTool(
    'bwrap',
    'bubblewrap',
    'to give commands /data/local/tmp, /sys and /system as a phone has them',
  );
  const qemu =
    config.abi === 'arm64-v8a'
      ? requireTool('qemu-aarch64-static', 'qemu-user-static', 'to run aarch64 binaries')
      : undefined;
  const unshare =
    qemu === undefined
      ? undefined
      : requireTool('unshare', 'util-linux', 'to give qemu a private binfmt_misc');
  return { bwrap, qemu, unshare };
}

/** Host folders behind the phone's /data/local/tmp, /sys and /system. */
interface PhonePaths {
  readonly sandboxDir: string;
  readonly sysfsDir: string;
  readonly systemDir: string;
}

/** Makes the phone's host folders under stateDir (the sandbox may be the caller's own folder). */
function makePhonePaths(config: ResolvedPhoneOptions, stateDir: string): PhonePaths {
  const sandboxDir = config.sandboxDir ?? join(stateDir, 'data-local-tmp');
  const sysfsDir = join(stateDir, 'sys');
  const systemDir = join(stateDir, 'system');
  for (const dir of [sandboxDir, sysfsDir, systemDir]) mkdirSync(dir, { recursive: true });
  return { sandboxDir, sysfsDir, systemDir };
}

function phoneMounts(paths: PhonePaths): readonly Mount[] {
  return [
    { devicePath: DEVICE_TMP_DIR, hostPath: paths.sandboxDir, writable: true },
    { devicePath: '/sys', hostPath: paths.sysfsDir, writable: false },
    { devicePath: '/system', hostPath: paths.systemDir, writable: false },
  ];
}

/** The phone's changing state (properties, power, thermal model) and the writers of the files that show it. */
interface PhoneState {
  readonly config: ResolvedPhoneOptions;
  properties: Record<string, string>;
  power: PowerState;
  thermal: ThermalState;
  activeCommands: number;
  readonly cpuList: ReturnType<typeof cpuTopology>;
  readonly sysfsWriter: FileTreeWriter;
  readonly systemWriter: FileTreeWriter;
}

function initialPhoneState(config: ResolvedPhoneOptions, paths: PhonePaths): PhoneState {
  return {
    config,
    properties: {},
    power: config.power,
    thermal: initialThermalState(config.thermal, Date.now(), config.temperatureC),
    activeCommands: 0,
    cpuList: cpuTopology(cpus().length),
    sysfsWriter: new FileTreeWriter(paths.sysfsDir),
    systemWriter: new FileTreeWriter(paths.systemDir),
  };
}

/** Brings the thermal model up to now, with the commands running meanwhile as the load. */
function advance(state: PhoneState): void {
  state.thermal = advanceThermal(state.config.thermal, state.thermal, Date.now(), state.activeCommands);
}

/** Rewrites the fake sysfs and the dumpsys texts from the thermal model and power state. */
function writeSysfs(state: PhoneState): void {
  const inputs = {
    cpus: state.cpuList,
    tempC: state.thermal.tempC,
    thermal: state.config.thermal,
    power: state.power,
    governor: 'schedutil',
  };
  state.sysfsWriter.write(sysfsFiles(inputs));
  state.systemWriter.write(
    new Map([
      ['etc/prunelab/dumpsys/battery.txt', dumpsysBattery(inputs)],
      ['etc/prunelab/dumpsys/power.txt', dumpsysPower(state.power)],
    ]),
  );
}

/** Rewrites /system: build.prop from the properties, and the phone's own tools. */
function writeSystem(state: PhoneState): void {
  const executable = (content: string): TreeFile => ({ content, mode: 0o755 });
  state.systemWriter.write(
    new Map<string, string | TreeFile>([
      ['build.prop', propertyFile(state.properties)],
      ['bin/getprop', executable(GETPROP_SCRIPT)],
      ['bin/dumpsys', executable(DUMPSYS_SCRIPT)],
      [`bin/${CONTROL_COMMAND}`, executable(CONTROL_MISPLACED_SCRIPT)],
    ]),
  );
}

function createFaults(state: PhoneState): PhoneFaults {
  const { config } = state;
  return new PhoneFaults(
    {
      set(tempC, hold) {
        state.thermal = setThermal(config.thermal, Date.now(), tempC, hold);
        writeSysfs(state);
      },
      release() {
        advance(state);
        state.thermal = releaseThermal(state.thermal);
      },
      current() {
        advance(state);
        return { tempC: state.thermal.tempC, held: state.thermal.heldC !== undefined };
      },
    },
    {
      setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    config.faults,
  );
}

/** Tries the sandbox once: a broken bubblewrap must fail here with a fix, not hang the first command. */
async function probeSandbox(tools: PhoneTools, hostRoot: RootEntry[], paths: PhonePaths): Promise<void> {
  const check = await probe([
    tools.bwrap,
    ...bwrapArgs({
      rootEntries: hostRoot,
      paths,
      commandLine: 'cat /sys/class/thermal/thermal_zone0/temp',
    }),
  ]);
  if (check.exitCode !== 0) {
    throw new PhoneToolError(
      `bubblewrap cannot build the phone's sandbox here (exit ${check.exitCode}): ${check.output}. It needs user or mount namespaces: run as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1).`,
      { tool: 'bwrap', debianPackage: 'bubblewrap' },
    );
  }
}

/** How aarch64 binaries will be started: a private binfmt_misc when the kernel allows it, else a qemu prefix. */
async function chooseArm64Launch(
  config: ResolvedPhoneOptions,
  tools: PhoneTools,
  registration: string | undefined,
): Promise<VirtualPhone['arm64Launch']> {
  if (registration === undefined) return 'none';
  if (config.arm64Launch === 'prefix') return 'prefix';
  const binfmt = await probe(
    withPrivateBinfmt(tools.unshare ?? 'unshare', registration, ['/bin/true']) as [string, ...string[]],
  );
  if (binfmt.exitCode === 0) return 'binfmt';
  if (config.arm64Launch === 'binfmt') {
    throw new PhoneToolError(
      `arm64Launch=binfmt: cannot register qemu in a private binfmt_misc (${binfmt.output}); it needs Linux >= 6.7 and unprivileged user namespaces. Use arm64Launch=prefix or auto.`,
      { tool: 'unshare', debianPackage: 'util-linux' },
    );
  }
  config.log(
    `arm64: private binfmt_misc unavailable (${binfmt.output}); prefixing aarch64 commands with qemu instead`,
  );
  return 'prefix';
}

/** What commandSpawner needs besides the config and the host folders. */
interface SpawnContext {
  readonly tools: PhoneTools;
  readonly mounts: readonly Mount[];
  readonly hostRoot: RootEntry[];
  readonly registration: string | undefined;
  readonly arm64Launch: VirtualPhone['arm64Launch'];
  readonly faults: PhoneFaults;
  readonly stateDir: string;
  /** Commands starting and exiting: the thermal model's load. */
  readonly onStart: () => void;
  readonly onExit: () => void;
}

/** How commands are spawned: each command line becomes a bubblewrap sandbox (under qemu on an arm64 phone). */
function commandSpawner(
  config: ResolvedPhoneOptions,
  paths: PhonePaths,
  context: SpawnContext,
): ProcessRunner {
  const { tools, mounts, hostRoot, registration, arm64Launch, faults } = context;
  const { bwrap, qemu, unshare } = tools;
  const planCommand = (commandLine: string | undefined): SpawnPlan => {
    let line = faults.shouldHang(commandLine) ? 'exec sleep infinity' : commandLine;
    if (line !== undefined && arm64Launch === 'prefix' && qemu !== undefined) {
      line = prefixAarch64Commands(line, qemu, (devicePath) => {
        const resolved = resolveDevicePath(mounts, devicePath);
        return resolved.kind === 'host' && readsAsAarch64Elf(resolved.hostPath);
      });
    }
    const diskFull = faults.isDiskFull()
      ? { sandboxEntries: rootEntries(paths.sandboxDir), fillFd: 3 }
      : undefined;
    const args = bwrapArgs({
      rootEntries: hostRoot,
      paths,
      commandLine: line,
      sharedPidNamespace: config.detachedJobs,
      ...(diskFull === undefined ? {} : { diskFull }),
    });
    const argv: [string, ...string[]] =
      arm64Launch === 'binfmt' && registration !== undefined
        ? (withPrivateBinfmt(unshare ?? 'unshare', registration, [bwrap, ...args]) as [string, ...string[]])
        : [bwrap, ...args];
    return diskFull === undefined ? { argv } : { argv, extraInputs: [new Uint8Array(DISK_FULL_TMPFS_BYTES)] };
  };
  return createProcessRunner({
    plan: planCommand,
    env: {
      ...phoneEnvironment(process.env.PATH ?? '/usr/bin:/bin', productSlug(config.model)),
      // Detached jobs leave the command's process group: this tag is how stop() still finds them.
      ...(config.detachedJobs ? { [DETACHED_JOB_TAG]: context.stateDir } : {}),
    },
    onStart: context.onStart,
    onExit: context.onExit,
  });
}

/** The settings `prunelab-fault` verbs and the VirtualPhone methods change. */
function phoneSettings(state: PhoneState, faults: PhoneFaults): PhoneSettings {
  return {
    setProperty(key, value) {
      if (!isPropertyName(key))
        throw new PhoneOptionError(
          `property name: expected letters, digits and ._-:@, got ${JSON.stringify(key)}`,
          { option: 'property', found: key },
        );
      state.properties = { ...state.properties, [key]: value };
      writeSystem(state);
    },
    setPower(change) {
      state.power = { ...state.power, ...change };
      writeSysfs(state);
    },
    goOfflineFor(durationMs) {
      setTimeout(() => {
        faults.setOffline(true);
        setTimeout(() => faults.setOffline(false), durationMs).unref();
      }, OFFLINE_GRACE_MS).unref();
    },
  };
}

/** What an adb link's OPEN reaches: sync, a shell command, or `prunelab-fault` verbs. */
interface ServiceParts {
  readonly config: ResolvedPhoneOptions;
  readonly files: ReturnType<typeof createHostDeviceFiles>;
  readonly faults: PhoneFaults;
  readonly settings: PhoneSettings;
  readonly runner: ProcessRunner;
}

function serviceOpener(parts: ServiceParts): ServiceOpener {
  const { config, files, faults, settings, runner } = parts;
  return (destination, stream) => {
    if (destination === 'sync:') return new SyncService(stream, files);
    const shell = parseShellDestination(destination);
    if (shell === undefined) return undefined;
    if (shell.kind === 'unsupported') {
      config.log(`refused ${JSON.stringify(destination)}: ${shell.reason}`);
      return undefined;
    }
    const control =
      shell.commandLine === undefined ? undefined : runControlChain(shell.commandLine, faults, settings);
    if (control === undefined) return new ShellService(stream, runner, shell.commandLine);
    if (control.rest.trim() === '') return new TextService(stream, control.output);
    // The rest of the line runs on the host, after the verbs' output and with $? set to the last exit code.
    return new ShellService(
      stream,
      runner,
      `{ printf '%s' ${shellQuote(control.output)}; (exit ${control.exitCode}); }${control.rest}`,
    );
  };
}

/** Listens for the adb server; each TCP link gets its own device connection, watched by the faults. */
function listenForAdb(
  state: PhoneState,
  faults: PhoneFaults,
  openService: ServiceOpener,
): ReturnType<typeof listenTcp> {
  const { config } = state;
  return listenTcp({
    host: config.host,
    port: config.port,
    accept: (link) => {
      if (!faults.acceptsConnections()) return undefined;
      let watch: ReturnType<PhoneFaults['attach']> | undefined;
      const connection = new AdbDeviceConnection(
        {
          write(bytes) {
            watch?.countBytes(bytes.byteLength);
            link.write(bytes);
          },
          destroy: () => link.destroy(),
        },
        {
          banner: deviceBanner(state.properties),
          maxPayloadBytes: config.maxPayloadBytes,
          openService,
          onProtocolError: (error) => config.log(`protocol error, link reset: ${error.message}`),
          onServiceError: (destination, error) =>
            config.log(`cannot open ${JSON.stringify(destination)}: ${(error as Error).message}`),
        },
      );
      watch = faults.attach({ destroy: () => connection.destroy() });
      return {
        receive(bytes) {
          watch?.countBytes(bytes.byteLength);
          connection.receive(bytes);
        },
        closed() {
          watch?.detach();
          connection.linkClosed();
        },
      };
    },
  });
}

/** What stop() releases. */
interface RunningParts {
  readonly config: ResolvedPhoneOptions;
  readonly stateDir: string;
  readonly ticker: NodeJS.Timeout;
  readonly faults: PhoneFaults;
  readonly listener: Awaited<ReturnType<typeof listenTcp>>;
  readonly runner: ProcessRunner;
}

/** Stops listening, resets the adb links, kills every command and removes the temporary folders. */
async function stopPhone(parts: RunningParts): Promise<void> {
  clearInterval(parts.ticker);
  parts.faults.dispose();
  await parts.listener.close();
  parts.runner.killAll();
  if (parts.config.detachedJobs) killTaggedProcesses(DETACHED_JOB_TAG, parts.stateDir);
  await rm(parts.stateDir, { recursive: true, force: true });
}

export async function startVirtualPhone(options: VirtualPhoneOptions): Promise<VirtualPhone> {
  const config: ResolvedPhoneOptions = resolvePhoneOptions(options);
  const tools = requirePhoneTools(config);
  const stateDir = await mkdtemp(join(tmpdir(), 'prunelab-phone-'));
  const paths = makePhonePaths(config, stateDir);
  const mounts = phoneMounts(paths);
  const state = initialPhoneState(config, paths);
  const faults = createFaults(state);
  const hostRoot = rootEntries('/');
  const registration = tools.qemu === undefined ? undefined : qemuAarch64Registration(tools.qemu);

  let ticker: NodeJS.Timeout | undefined;
  try {
    writeSysfs(state);
    await probeSandbox(tools, hostRoot, paths);
    const arm64Launch = await chooseArm64Launch(config, tools, registration);
    const runner = commandSpawner(config, paths, {
      tools,
      mounts,
      hostRoot,
      registration,
      arm64Launch,
      faults,
      stateDir,
      onStart: () => {
        advance(state);
        state.activeCommands++;
      },
      onExit: () => {
        advance(state);
        state.activeCommands--;
      },
    });
    const files = createHostDeviceFiles({ mounts, isDiskFull: () => faults.isDiskFull() });
    const settings = phoneSettings(state, faults);
    const openService = serviceOpener({ config, files, faults, settings, runner });
    const listener = await listenForAdb(state, faults, openService);
    const port = listener.port;
    const serial = `${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
    // Written once the port is known (port 0 asks for a free one); a link needs a CNXN before any command.
    state.properties = {
      ...defaultProperties({ model: config.model, abi: config.abi, serialNumber: `virtual-${serial}` }),
      ...config.properties,
    };
    writeSystem(state);

    const running = setInterval(() => {
      advance(state);
      writeSysfs(state);
    }, config.thermalTickMs);
    running.unref();
    ticker = running;

    let stopped = false;
    return {
      port,
      serial,
      abi: config.abi,
      model: config.model,
      sandboxDir: paths.sandboxDir,
      sysfsDir: paths.sysfsDir,
      arm64Launch,
      faults,
      setProperty: (key, value) => settings.setProperty(key, value),
      setPower: (change) => settings.setPower(change),
      temperatureC() {
        advance(state);
        return state.thermal.tempC;
      },
      liveProcessGroups: () => runner.liveProcessGroups(),
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopPhone({ config, stateDir, ticker: running, faults, listener, runner });
      },
    };
  } catch (error) {
    clearInterval(ticker);
    faults.dispose();
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}
