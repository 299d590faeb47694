import type { ConsulAgent } from '../../harness';

/*
 * What an operator (or another tool) does to a key or a session behind the election's back, through
 * the agent's HTTP API: the faults of the "someone deletes the key or destroys the session" kind.
 */

type AgentAddress = Pick<ConsulAgent, 'address'>;

/** A KV entry as `GET /v1/kv/<key>` returns it, with the value decoded. */
export interface RawKeyEntry {
  readonly session: string | null;
  readonly lockIndex: number;
  readonly modifyIndex: number;
  /** The value as text, or null. */
  readonly value: string | null;
}

async function call(
  agent: AgentAddress,
  method: string,
  path: string,
  body?: string,
): Promise<string> {
  const response = await fetch(`${agent.address}${path}`, {
    method,
    body,
    signal: AbortSignal.timeout(3_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text;
}

export async function readKeyEntry(agent: AgentAddress, key: string): Promise<RawKeyEntry | null> {
  const response = await fetch(`${agent.address}/v1/kv/${key}`, {
    signal: AbortSignal.timeout(3_000),
  });
  if (response.status === 404) return null;
  if (!response.ok)
    throw new Error(`GET /v1/kv/${key}: ${response.status} ${await response.text()}`);
  const [entry] = (await response.json()) as Array<{
    Session?: string;
    LockIndex: number;
    ModifyIndex: number;
    Value: string | null;
  }>;
  return {
    session: entry.Session || null,
    lockIndex: entry.LockIndex,
    modifyIndex: entry.ModifyIndex,
    value: entry.Value ? Buffer.from(entry.Value, 'base64').toString('utf8') : null,
  };
}

/** The key's value parsed as the JSON the library writes, or null. */
export async function readLeaderValue(
  agent: AgentAddress,
  key: string,
): Promise<{ instanceId?: string; successors?: string[]; releasedAt?: string } | null> {
  const entry = await readKeyEntry(agent, key);
  if (!entry?.value) return null;
  try {
    return JSON.parse(entry.value) as { instanceId?: string; successors?: string[] };
  } catch {
    return null;
  }
}

/** `DELETE /v1/kv/<key>`: the key is gone, whoever held it (no lock-delay for an absent key). */
export async function deleteKey(agent: AgentAddress, key: string): Promise<void> {
  await call(agent, 'DELETE', `/v1/kv/${key}`);
}

/** `PUT /v1/kv/<key>` without `?acquire`: Consul keeps the holder's session on the key. */
export async function plainPut(agent: AgentAddress, key: string, value: string): Promise<void> {
  await call(agent, 'PUT', `/v1/kv/${key}`, value);
}

/** `PUT /v1/kv/<key>?acquire=<session>` by the holder's own session: a new ModifyIndex, same holder. */
export async function putWithHolderSession(
  agent: AgentAddress,
  key: string,
  session: string,
  value: string,
): Promise<void> {
  const answer = await call(agent, 'PUT', `/v1/kv/${key}?acquire=${session}`, value);
  if (answer.trim() !== 'true') throw new Error(`PUT ${key}?acquire=${session} answered ${answer}`);
}

/** `PUT /v1/session/destroy/<id>`: Consul invalidates the session (lock-delay applies to its keys). */
export async function destroySession(agent: AgentAddress, session: string): Promise<void> {
  await call(agent, 'PUT', `/v1/session/destroy/${session}`);
}

/** Raises the agent's Raft index by `writes` KV writes (to a scratch key, deleted after). */
export async function advanceIndex(agent: AgentAddress, writes: number): Promise<void> {
  const scratch = `scratch/advance-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  for (let i = 0; i < writes; i++) await call(agent, 'PUT', `/v1/kv/${scratch}`, String(i));
  await call(agent, 'DELETE', `/v1/kv/${scratch}`);
}
