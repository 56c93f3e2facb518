/** Which agent build a phone takes (pure). */

/**
 * The agent build a phone ABI takes. There is no Android x86_64 make target yet, so an x86_64 device (an
 * emulator, the virtual phone) on an x86_64 host gets the host build: right for the virtual phone, which
 * runs host binaries; a real x86_64 emulator may lack the host's CPU features (-march=native).
 */
export function agentAbiFor(deviceAbi: string, hostArch: string = process.arch): string {
  if (deviceAbi === 'x86_64' && hostArch === 'x64') return 'host';
  return deviceAbi;
}
