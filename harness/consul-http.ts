// The few HTTP calls the harness makes to an agent (readiness, leader, version), with fetch: the
// harness does not depend on the library it tests.
import { pollUntil } from './poll';

const REQUEST_TIMEOUT_MS = 2_000;
/** A key the readiness check writes and deletes; also read consistently to see a new Raft leader serve. */
export const READY_KEY = 'nestjs-consul-leader-harness/ready';

export interface ConsulResponse {
  status: number;
  body: string;
}

export async function consulRequest(
  address: string,
  urlPath: string,
  init: { method?: string; body?: string; token?: string; timeoutMs?: number } = {},
): Promise<ConsulResponse> {
  const response = await fetch(`${address}${urlPath}`, {
    method: init.method ?? 'GET',
    body: init.body,
    headers: init.token ? { 'X-Consul-Token': init.token } : undefined,
    signal: AbortSignal.timeout(init.timeoutMs ?? REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.text() };
}

/** Non-empty `/v1/status/leader` (`"ip:port"`) of the agent at `address`, or '' if none or down. */
export async function statusLeader(address: string): Promise<string> {
  try {
    const { status, body } = await consulRequest(address, '/v1/status/leader');
    return status === 200 ? (JSON.parse(body) as string) : '';
  } catch {
    return '';
  }
}

/** One round of the readiness check: a leader is known and a KV write (then delete) succeeds. */
export async function isServing(
  address: string,
  token: string | undefined,
): Promise<string | undefined> {
  if ((await statusLeader(address)) === '') return 'no leader yet';
  try {
    const put = await consulRequest(address, `/v1/kv/${READY_KEY}`, {
      method: 'PUT',
      body: 'ok',
      token,
    });
    if (put.status !== 200) return `KV PUT answered ${put.status} ${put.body.trim()}`;
    await consulRequest(address, `/v1/kv/${READY_KEY}`, { method: 'DELETE', token });
    return undefined;
  } catch (error) {
    return `KV PUT failed: ${(error as Error).message}`;
  }
}

/** `Config.Version` from `GET /v1/agent/self` (needs `agent:read` under ACLs). */
export async function agentVersion(address: string, token: string | undefined): Promise<string> {
  const { status, body } = await consulRequest(address, '/v1/agent/self', { token });
  if (status !== 200) throw new Error(`GET ${address}/v1/agent/self answered ${status}: ${body}`);
  return (JSON.parse(body) as { Config: { Version: string } }).Config.Version;
}

/** Polls `check` (undefined = done, string = why not yet) until it passes or the deadline. */
export async function pollReady(
  what: string,
  check: () => Promise<string | undefined>,
  timeoutMs: number,
  abort?: () => string | undefined,
): Promise<void> {
  let last = 'not checked yet';
  await pollUntil(
    what,
    async () => {
      const reason = await check();
      if (reason === undefined) return true;
      last = reason;
      return false;
    },
    { timeoutMs, intervalMs: 50, abort, lastSeen: () => last },
  );
}
