/**
 * The phone's system properties (what `getprop` answers) and the CNXN banner built from them. Pure.
 */

export const PHONE_ABIS = ['x86_64', 'arm64-v8a'] as const;
export type PhoneAbi = (typeof PHONE_ABIS)[number];

const ABI_LISTS: Readonly<Record<PhoneAbi, string>> = {
  x86_64: 'x86_64,x86',
  'arm64-v8a': 'arm64-v8a,armeabi-v7a,armeabi',
};

/** `Pixel 7 Pro` -> `pixel_7_pro`: the shape of ro.product.name / ro.product.device. */
export function productSlug(model: string): string {
  return (
    model
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'virtual'
  );
}

export interface PropertyInputs {
  readonly model: string;
  readonly abi: PhoneAbi;
  /** ro.serialno; adb itself names a TCP device by its address. */
  readonly serialNumber: string;
}

export function defaultProperties(inputs: PropertyInputs): Record<string, string> {
  const slug = productSlug(inputs.model);
  const soc = inputs.abi === 'arm64-v8a' ? 'virtual-arm64' : 'virtual-x86_64';
  return {
    'ro.product.model': inputs.model,
    'ro.product.name': slug,
    'ro.product.device': slug,
    'ro.product.brand': 'prunelab',
    'ro.product.manufacturer': 'prunelab',
    'ro.product.cpu.abi': inputs.abi,
    'ro.product.cpu.abilist': ABI_LISTS[inputs.abi],
    'ro.board.platform': soc,
    'ro.hardware': 'prunelab',
    'ro.soc.manufacturer': 'prunelab',
    'ro.soc.model': soc,
    'ro.build.version.release': '13',
    'ro.build.version.sdk': '33',
    'ro.build.id': 'PLV1',
    'ro.build.type': 'user',
    'ro.build.tags': 'release-keys',
    // Same shape as a real one: brand/name/device:release/id/incremental:type/tags.
    'ro.build.fingerprint': `prunelab/${slug}/${slug}:13/PLV1/1:user/release-keys`,
    'ro.serialno': inputs.serialNumber,
    'ro.debuggable': '0',
    'ro.secure': '1',
    'sys.boot_completed': '1',
  };
}

/**
 * The CNXN banner. adb shows ro.product.* in `devices -l`. An empty feature list keeps the host on shell v1
 * and stat/list v1, which is all this phone serves (shell_v2 would promise exit codes and separate stderr).
 */
export function deviceBanner(
  properties: Readonly<Record<string, string>>,
  features: readonly string[] = [],
): string {
  const keys = ['ro.product.name', 'ro.product.model', 'ro.product.device'];
  const parts = keys.map((key) => `${key}=${properties[key] ?? ''}`);
  return `device::${parts.join(';')};features=${features.join(',')}`;
}

/** The property table as the getprop script reads it: `key=value` lines, sorted as getprop prints them. */
export function propertyFile(properties: Readonly<Record<string, string>>): string {
  return Object.keys(properties)
    .sort()
    .map((key) => `${key}=${(properties[key] ?? '').replace(/\n/g, ' ')}\n`)
    .join('');
}

/** Property names getprop accepts (Android allows letters, digits and `._-:@`). */
export function isPropertyName(name: string): boolean {
  return /^[A-Za-z0-9._\-:@]+$/.test(name);
}

/**
 * /system/bin/getprop. `getprop` prints `[key]: [value]` lines; `getprop KEY [DEFAULT]` prints one value,
 * or the default (empty) when the key is unset. Reads /system/build.prop, rewritten whenever a property
 * changes, so a running phone can be retuned.
 */
export const GETPROP_SCRIPT = `#!/bin/sh
# getprop of the prunelab virtual phone: answers from /system/build.prop (key=value lines).
props=/system/build.prop
if [ $# -eq 0 ]; then
  exec awk '{ i = index($0, "="); if (i > 1) printf "[%s]: [%s]\\n", substr($0, 1, i - 1), substr($0, i + 1) }' "$props"
fi
exec awk -v key="$1" -v fallback="$2" '
  { i = index($0, "="); if (substr($0, 1, i - 1) == key) { print substr($0, i + 1); found = 1; exit } }
  END { if (!found) print fallback }' "$props"
`;

/** /system/bin/dumpsys: the services a lab asks about, from files the phone keeps current. */
export const DUMPSYS_SCRIPT = `#!/bin/sh
# dumpsys of the prunelab virtual phone: battery and power only.
case "$1" in
  battery|power) exec cat "/system/etc/prunelab/dumpsys/$1.txt" ;;
  *) echo "Can't find service: $1"; exit 0 ;;
esac
`;

/**
 * /system/bin/prunelab-fault: reached only when the verb is not at the start of the command line (the phone
 * handles it there, see control-command.ts), so it explains instead of failing with "not found".
 */
export const CONTROL_MISPLACED_SCRIPT = `#!/bin/sh
echo "prunelab-fault: the virtual phone handles this command only at the start of a command line (several may follow each other after ';'), not after a pipe, && or inside a script" >&2
exit 127
`;
