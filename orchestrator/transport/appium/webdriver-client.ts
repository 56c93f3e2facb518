/**
 * The one file that touches webdriverio: an Appium session reduced to the four calls the transport uses
 * (`mobile: shell`, push_file, pull_file, delete session), in plain promises and our own types.
 *
 * Retries are off (`connectionRetryCount: 0`): webdriverio re-sends a request that outlives
 * `connectionRetryTimeout`, and a re-sent `mobile: shell` runs its command again (seen
 * here: a benchmark ran four times). The transport never makes a call that is meant to last long instead.
 */

export interface AppiumEndpoint {
  /** http(s)://[user:key@]host[:port][/path] of the Appium server (or a farm's hub). */
  readonly url: string;
  readonly capabilities: Readonly<Record<string, unknown>>;
  /** Longest one HTTP call may take. */
  readonly commandTimeoutMs: number;
}

export interface ShellOutput {
  readonly stdout: string;
  readonly stderr: string;
}

export interface AppiumSession {
  readonly sessionId: string;
  /** What the server says the session is (merged capabilities, `appium:` prefixes kept as sent). */
  readonly capabilities: Readonly<Record<string, unknown>>;
  /** `mobile: shell` with an explicit server-side timeout; rejects on a non-zero exit, as UiAutomator2 does. */
  shell(command: string, timeoutMs: number): Promise<ShellOutput>;
  pushFile(remotePath: string, bytes: Buffer): Promise<void>;
  pullFile(remotePath: string): Promise<Buffer>;
  /** Deletes the session; never rejects (a server already gone has nothing left to close). */
  close(): Promise<void>;
}

/** Capabilities added under the configured ones: a session idle for 5 min (a long thermal wait) survives. */
const DEFAULT_CAPABILITIES = { 'appium:newCommandTimeout': 300 };

function connectionOptions(url: string) {
  const parsed = new URL(url);
  const https = parsed.protocol === 'https:';
  return {
    protocol: https ? 'https' : 'http',
    hostname: parsed.hostname,
    port: parsed.port === '' ? (https ? 443 : 80) : Number(parsed.port),
    path: parsed.pathname === '' ? '/' : parsed.pathname,
    ...(parsed.username === '' ? {} : { user: decodeURIComponent(parsed.username) }),
    ...(parsed.password === '' ? {} : { key: decodeURIComponent(parsed.password) }),
  };
}

export async function openAppiumSession(endpoint: AppiumEndpoint): Promise<AppiumSession> {
  // Loaded on first use: webdriverio takes most of a second to import, and most commands reach no Appium phone.
  const { remote } = await import('webdriverio');
  const browser = await remote({
    ...connectionOptions(endpoint.url),
    capabilities: { ...DEFAULT_CAPABILITIES, ...endpoint.capabilities } as WebdriverIO.Capabilities,
    connectionRetryCount: 0,
    connectionRetryTimeout: endpoint.commandTimeoutMs,
    logLevel: 'silent',
  });
  let closed = false;
  return {
    sessionId: browser.sessionId,
    capabilities: { ...(browser.capabilities as Record<string, unknown>) },
    shell: async (command, timeoutMs) => {
      const result: unknown = await browser.execute('mobile: shell', {
        command,
        // UiAutomator2 passes it to Node's child_process, which takes whole milliseconds only.
        timeout: Math.ceil(timeoutMs),
        includeStderr: true,
      });
      // Without includeStderr support (older drivers) the answer is stdout alone.
      if (typeof result === 'string') return { stdout: result, stderr: '' };
      const { stdout, stderr } = (result ?? {}) as { stdout?: unknown; stderr?: unknown };
      return { stdout: String(stdout ?? ''), stderr: String(stderr ?? '') };
    },
    pushFile: async (remotePath, bytes) => {
      await browser.pushFile(remotePath, bytes.toString('base64'));
    },
    pullFile: async (remotePath) => Buffer.from(await browser.pullFile(remotePath), 'base64'),
    close: async () => {
      if (closed) return;
      closed = true;
      await browser.deleteSession().catch(() => undefined);
    },
  };
}
