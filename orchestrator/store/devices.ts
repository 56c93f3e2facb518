/** Devices and agent builds: provenance rows that runs and measurements point to. */
import type { DeviceInfo } from '../transport/port.ts';
import type { StoreDb } from './open.ts';

export async function upsertDevice(db: StoreDb, info: DeviceInfo, now: Date = new Date()): Promise<void> {
  const at = now.toISOString();
  const row = {
    kind: info.identity.kind,
    model: info.model,
    abi: info.identity.abi,
    build_fingerprint: info.buildFingerprint,
    identity_json: JSON.stringify(info),
    last_seen_at: at,
  };
  await db
    .insertInto('devices')
    .values({ id: info.identity.id, first_seen_at: at, ...row })
    .onConflict((conflict) => conflict.column('id').doUpdateSet(row))
    .execute();
}

export interface AgentBuildRecord {
  readonly hash: string;
  readonly abi: string;
  readonly compiler: string;
  readonly flags: string;
}

export async function recordAgentBuild(
  db: StoreDb,
  build: AgentBuildRecord,
  now: Date = new Date(),
): Promise<void> {
  await db
    .insertInto('agent_builds')
    .values({
      hash: build.hash,
      abi: build.abi,
      compiler: build.compiler,
      flags: build.flags,
      created_at: now.toISOString(),
    })
    .onConflict((conflict) => conflict.column('hash').doNothing())
    .execute();
}
