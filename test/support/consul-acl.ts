// An operator's ACL requests to an agent with ACLs on (policies, tokens, a policy edited mid-run),
// made with the management token: what the ACL specs set up and change on a real agent.
import type { ConsulAgent } from '../../harness';

/** `PUT path` with `body` as the management token; the answer's JSON, or an error naming the answer. */
export async function aclPut(
  agent: Pick<ConsulAgent, 'address'>,
  managementToken: string,
  path: string,
  body: unknown,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${agent.address}${path}`, {
    method: 'PUT',
    headers: { 'X-Consul-Token': managementToken },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}
