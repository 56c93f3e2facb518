/**
 * The Appium phones of one CLI command: each `devices.appium` entry gets one session, opened the first
 * time the devices are listed and reused by later listings (a sweep polls for phones that join it), and
 * all of them are deleted by `close`, which the composition root calls when the command ends, however it
 * ends. An entry the server refused for good (no shell) is not asked again; an unreachable one is, at most
 * every RETRY_AFTER_MS (a sweep lists devices every second: a farm should not get a session request each).
 */
import type { AppiumDeviceConfig } from '../../../config/schema.ts';
import { errorMessage } from '../android/messages.ts';
import { TransportError } from '../errors.ts';
import { connectAppiumDevice } from './connect.ts';
import type { AppiumDevice } from './device.ts';

export interface UnusableAppiumDevice {
  readonly name: string;
  readonly message: string;
}

export interface AppiumPool {
  devices(
    entries: readonly AppiumDeviceConfig[],
  ): Promise<{ devices: AppiumDevice[]; unusable: UnusableAppiumDevice[] }>;
  close(): Promise<void>;
}

type Outcome =
  | { readonly device: AppiumDevice }
  | { readonly refused: string }
  | { readonly failed: string; readonly atMs: number };

const RETRY_AFTER_MS = 30_000;

export function createAppiumPool(connect = connectAppiumDevice): AppiumPool {
  const slots = new Map<string, Promise<Outcome>>();
  const opened: AppiumDevice[] = [];
  let closed = false;

  async function open(entry: AppiumDeviceConfig, index: number): Promise<Outcome> {
    try {
      const device = await connect({ entry, index });
      // Closed while connecting (the command ended): nobody would close this one otherwise.
      if (closed) await device.close();
      else opened.push(device);
      return { device };
    } catch (error) {
      const message = errorMessage(error);
      return error instanceof TransportError && !error.transient
        ? { refused: message }
        : { failed: message, atMs: performance.now() };
    }
  }

  return {
    async devices(entries) {
      const outcomes = await Promise.all(
        entries.map(async (entry, index) => {
          const key = JSON.stringify(entry);
          let slot = slots.get(key);
          if (slot === undefined) {
            slot = open(entry, index);
            slots.set(key, slot);
          }
          const outcome = await slot;
          // A session or a refusal is kept; a transient failure is tried again a while later.
          if (
            'failed' in outcome &&
            performance.now() - outcome.atMs >= RETRY_AFTER_MS &&
            slots.get(key) === slot
          )
            slots.delete(key);
          return { entry, outcome };
        }),
      );
      const devices: AppiumDevice[] = [];
      const unusable: UnusableAppiumDevice[] = [];
      for (const { entry, outcome } of outcomes) {
        if ('device' in outcome) devices.push(outcome.device);
        else
          unusable.push({
            name: entry.name,
            message: 'refused' in outcome ? outcome.refused : outcome.failed,
          });
      }
      return { devices, unusable };
    },
    async close() {
      closed = true;
      await Promise.all(opened.splice(0).map((device) => device.close()));
    },
  };
}
