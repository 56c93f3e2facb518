/**
 * startVirtualPhone: the composition root of the virtual phone. It wires the Node adapters (TCP listener,
 * process runner, host files) to the protocol core (connection, shell and sync services), and owns the
 * phone's state: properties, thermal model, fake sysfs, faults. Nothing else constructs these.
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
import { findHostOpenCl } from './opencl.ts';
import { type ResolvedPhoneOptions, resolvePhoneOptions, type VirtualPhoneOptions } from './options.ts';
import type { ServiceOpener } from './ports.ts';
import { createProcessRunner, killTaggedProcesses, type SpawnPlan } from './process-runner.ts';
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

export async function startVirtualPhone(options: VirtualPhoneOptions): Promise<VirtualPhone> {
  const config: ResolvedPhoneOptions = resolvePhoneOptions(options);
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

  const stateDir = await mkdtemp(join(tmpdir(), 'prunelab-phone-'));
  const sandboxDir = config.sandboxDir ?? join(stateDir, 'data-local-tmp');
  const sysfsDir = join(stateDir, 'sys');
  const systemDir = join(stateDir, 'system');
  for (const dir of [sandboxDir, sysfsDir, systemDir]) mkdirSync(dir, { recursive: true });
  const mounts: readonly Mount[] = [
    { devicePath: DEVICE_TMP_DIR, hostPath: sandboxDir, writable: true },
    { devicePath: '/sys', hostPath: sysfsDir, writable: false },
    { devicePath: '/system', hostPath: systemDir, writable: false },
  ];

  // ----- state: properties, power, thermal model, and the files that show them -----
  let properties: Record<string, string> = {};
  let power: PowerState = config.power;
  const cpuList = cpuTopology(cpus().length);
  let thermal: ThermalState = initialThermalState(config.thermal, Date.now(), config.temperatureC);
  let activeCommands = 0;
  const sysfsWriter = new FileTreeWriter(sysfsDir);
  const systemWriter = new FileTreeWriter(systemDir);

  const advance = (): void => {
    thermal = advanceThermal(config.thermal, thermal, Date.now(), activeCommands);
  };
  const writeSysfs = (): void => {
    const inputs = {
      cpus: cpuList,
      tempC: thermal.tempC,
      thermal: config.thermal,
      power,
      governor: 'schedutil',
    };
    sysfsWriter.write(sysfsFiles(inputs));
    systemWriter.write(
      new Map([
        ['etc/prunelab/dumpsys/battery.txt', dumpsysBattery(inputs)],
        ['etc/prunelab/dumpsys/power.txt', dumpsysPower(power)],
      ]),
    );
  };
  const writeSystem = (): void => {
    const executable = (content: string): TreeFile => ({ content, mode: 0o755 });
    systemWriter.write(
      new Map<string, string | TreeFile>([
        ['build.prop', propertyFile(properties)],
        ['bin/getprop', executable(GETPROP_SCRIPT)],
        ['bin/dumpsys', executable(DUMPSYS_SCRIPT)],
        [`bin/${CONTROL_COMMAND}`, executable(CONTROL_MISPLACED_SCRIPT)],
      ]),
    );
  };

  const faults = new PhoneFaults(
    {
      set(tempC, hold) {
        thermal = setThermal(config.thermal, Date.now(), tempC, hold);
        writeSysfs();
      },
      release() {
        advance();
        thermal = releaseThermal(thermal);
      },
      current() {
        advance();
        return { tempC: thermal.tempC, held: thermal.heldC !== undefined };
      },
    },
    {
      setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
    config.faults,
  );

  // ----- how commands are spawned -----
  const hostRoot = rootEntries('/');
  const paths = { sandboxDir, sysfsDir, systemDir };
  const vendorOpenCl =
    config.opencl === true || (config.opencl === undefined && config.abi === 'x86_64')
      ? findHostOpenCl()
      : undefined;
  const registration = qemu === undefined ? undefined : qemuAarch64Registration(qemu);
  let arm64Launch: VirtualPhone['arm64Launch'] = 'none';
  const planCommand = (commandLine: string | undefined): SpawnPlan => {
    let line = faults.shouldHang(commandLine) ? 'exec sleep infinity' : commandLine;
    if (line !== undefined && arm64Launch === 'prefix' && qemu !== undefined) {
      line = prefixAarch64Commands(line, qemu, (devicePath) => {
        const resolved = resolveDevicePath(mounts, devicePath);
        return resolved.kind === 'host' && readsAsAarch64Elf(resolved.hostPath);
      });
    }
    const diskFull = faults.isDiskFull() ? { sandboxEntries: rootEntries(sandboxDir), fillFd: 3 } : undefined;
    const args = bwrapArgs({
      rootEntries: hostRoot,
      paths,
      commandLine: line,
      sharedPidNamespace: config.detachedJobs,
      ...(diskFull === undefined ? {} : { diskFull }),
      ...(vendorOpenCl === undefined ? {} : { vendorOpenCl }),
    });
    const argv: [string, ...string[]] =
      arm64Launch === 'binfmt' && registration !== undefined
        ? (withPrivateBinfmt(unshare ?? 'unshare', registration, [bwrap, ...args]) as [string, ...string[]])
        : [bwrap, ...args];
    return diskFull === undefined ? { argv } : { argv, extraInputs: [new Uint8Array(DISK_FULL_TMPFS_BYTES)] };
  };
  const runner = createProcessRunner({
    plan: planCommand,
    env: {
      ...phoneEnvironment(process.env.PATH ?? '/usr/bin:/bin', productSlug(config.model)),
      // PoCL compiles each kernel at its first launch and caches under $HOME/.cache, which is / on a phone
      // (not writable): without a cache it recompiles in every agent process (seconds per batch).
      ...(vendorOpenCl === undefined ? {} : { POCL_CACHE_DIR: `${DEVICE_TMP_DIR}/.pocl-cache` }),
      // Detached jobs leave the command's process group: this tag is how stop() still finds them.
      ...(config.detachedJobs ? { [DETACHED_JOB_TAG]: stateDir } : {}),
    },
    onStart: () => {
      advance();
      activeCommands++;
    },
    onExit: () => {
      advance();
      activeCommands--;
    },
  });

  let ticker: NodeJS.Timeout | undefined;
  try {
    writeSysfs();

    // Try the sandbox once now: a broken bubblewrap must fail here with a fix, not hang the first command.
    const check = await probe([
      bwrap,
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
    if (config.opencl === true && vendorOpenCl === undefined) {
      throw new PhoneToolError(
        'opencl: true, but the host has no libOpenCL.so.1 to expose at /vendor/lib64/libOpenCL.so: install the ICD loader and PoCL (apt-get install ocl-icd-libopencl1 pocl-opencl-icd), or leave opencl unset',
        { tool: 'libOpenCL.so.1', debianPackage: 'ocl-icd-libopencl1' },
      );
    }
    if (registration !== undefined) {
      if (config.arm64Launch !== 'prefix') {
        const binfmt = await probe(
          withPrivateBinfmt(unshare ?? 'unshare', registration, ['/bin/true']) as [string, ...string[]],
        );
        if (binfmt.exitCode === 0) arm64Launch = 'binfmt';
        else if (config.arm64Launch === 'binfmt') {
          throw new PhoneToolError(
            `arm64Launch=binfmt: cannot register qemu in a private binfmt_misc (${binfmt.output}); it needs Linux >= 6.7 and unprivileged user namespaces. Use arm64Launch=prefix or auto.`,
            { tool: 'unshare', debianPackage: 'util-linux' },
          );
        } else
          config.log(
            `arm64: private binfmt_misc unavailable (${binfmt.output}); prefixing aarch64 commands with qemu instead`,
          );
      }
      if (arm64Launch === 'none') arm64Launch = 'prefix';
    }

    const files = createHostDeviceFiles({ mounts, isDiskFull: () => faults.isDiskFull() });
    const settings: PhoneSettings = {
      setProperty(key, value) {
        if (!isPropertyName(key))
          throw new PhoneOptionError(
            `property name: expected letters, digits and ._-:@, got ${JSON.stringify(key)}`,
            { option: 'property', found: key },
          );
        properties = { ...properties, [key]: value };
        writeSystem();
      },
      setPower(change) {
        power = { ...power, ...change };
        writeSysfs();
      },
      goOfflineFor(durationMs) {
        setTimeout(() => {
          faults.setOffline(true);
          setTimeout(() => faults.setOffline(false), durationMs).unref();
        }, OFFLINE_GRACE_MS).unref();
      },
    };

    const openService: ServiceOpener = (destination, stream) => {
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

    const listener = await listenTcp({
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
            banner: deviceBanner(properties),
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
    const port = listener.port;
    const serial = `${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
    // Written once the port is known (port 0 asks for a free one); a link needs a CNXN before any command.
    properties = {
      ...defaultProperties({ model: config.model, abi: config.abi, serialNumber: `virtual-${serial}` }),
      ...config.properties,
    };
    writeSystem();

    ticker = setInterval(() => {
      advance();
      writeSysfs();
    }, config.thermalTickMs);
    ticker.unref();

    let stopped = false;
    return {
      port,
      serial,
      abi: config.abi,
      model: config.model,
      sandboxDir,
      sysfsDir,
      arm64Launch,
      faults,
      setProperty: (key, value) => settings.setProperty(key, value),
      setPower: (change) => settings.setPower(change),
      temperatureC() {
        advance();
        return thermal.tempC;
      },
      liveProcessGroups: () => runner.liveProcessGroups(),
      async stop() {
        if (stopped) return;
        stopped = true;
        clearInterval(ticker);
        faults.dispose();
        await listener.close();
        runner.killAll();
        if (config.detachedJobs) killTaggedProcesses(DETACHED_JOB_TAG, stateDir);
        await rm(stateDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    clearInterval(ticker);
    faults.dispose();
    await rm(stateDir, { recursive: true, force: true });
    throw error;
  }
}
