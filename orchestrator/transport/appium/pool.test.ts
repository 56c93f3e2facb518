/** The session pool of one CLI command, with a stand-in for the connect step (no server needed). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AppiumDeviceConfig } from '../../../config/schema.ts';
import { DeviceUnavailableError } from '../errors.ts';
import type { AppiumDevice } from './device.ts';
import { AppiumShellRefusedError } from './errors.ts';
import { createAppiumPool } from './pool.ts';

const entry = (name: string): AppiumDeviceConfig => ({
  name,
  url: 'http://127.0.0.1:4723',
  capabilities: {},
  workDir: '/data/local/tmp/prunelab',
  pollMs: 500,
  commandTimeoutMs: 60_000,
});

test('one session per entry for the whole command; refusals and outages are reported, all closed at the end', async () => {
  const calls: string[] = [];
  const closed: string[] = [];
  const pool = createAppiumPool(async ({ entry: { name } }) => {
    calls.push(name);
    const data = { deviceId: `appium:${name}`, operation: 'shell' } as const;
    if (name === 'browserstack')
      throw new AppiumShellRefusedError('the server refuses `mobile: shell`', data);
    if (name === 'offline') throw new DeviceUnavailableError('ECONNREFUSED', data);
    return {
      identity: { id: `appium:${name}:serial`, kind: 'appium', abi: 'arm64-v8a' },
      close: async () => {
        closed.push(name);
      },
    } as unknown as AppiumDevice;
  });
  const entries = [entry('grid'), entry('browserstack'), entry('offline')];
  const first = await pool.devices(entries);
  const second = await pool.devices(entries);
  assert.deepEqual(
    first.devices.map((device) => device.identity.id),
    ['appium:grid:serial'],
  );
  assert.equal(second.devices[0], first.devices[0], 'the same session is handed out again');
  assert.deepEqual(
    second.unusable.map((entry) => `${entry.name}: ${entry.message}`),
    ['browserstack: the server refuses `mobile: shell`', 'offline: ECONNREFUSED'],
  );
  assert.deepEqual(
    calls,
    ['grid', 'browserstack', 'offline'],
    'nothing asked twice within a listing interval',
  );
  await pool.close();
  assert.deepEqual(closed, ['grid']);
});
