// Which policy rule a refused request names (docs/operations/acl.md): one per request the election
// makes, so that a 403 tells the operator the exact line to add.
import { ElectionMessages, missingAclRule } from '../../../lib/election/election.messages';

const refusal = { key: 'jobs/report', status: 403, serviceName: 'leader-jobs-report-1a2b3c4d' };

describe('the rule a refused request names', () => {
  it.each([
    ['key read', 'key "jobs/report" { policy = "write" }'],
    ['acquire', 'key "jobs/report" { policy = "write" }'],
    ['hold confirmation', 'key "jobs/report" { policy = "write" }'],
    ['key release', 'key "jobs/report" { policy = "write" }'],
    ['session create', 'session "node-7" { policy = "write" }'],
    ['session renew', 'session "node-7" { policy = "write" }'],
    ['service register', 'service "leader-jobs-report-1a2b3c4d" { policy = "write" }'],
    ['check update', 'service "leader-jobs-report-1a2b3c4d" { policy = "write" }'],
    ['service deregister', 'service "leader-jobs-report-1a2b3c4d" { policy = "write" }'],
    ['candidates read', 'node_prefix "" { policy = "read" }'],
  ])('a refused %s names %s', (operation, rule) => {
    expect(missingAclRule({ ...refusal, operation, node: 'node-7' })).toBe(rule);
  });

  it('says which node to look up when the agent could not tell it', () => {
    expect(missingAclRule({ ...refusal, operation: 'session create', node: null })).toBe(
      `session "<this agent's node name>" { policy = "write" }`,
    );
  });

  it('lists the whole policy with the key, the service and the node', () => {
    const message = ElectionMessages.forbidden({
      ...refusal,
      operation: 'acquire',
      node: 'node-7',
    });
    expect(message).toBe(
      'Consul refused the acquire for key "jobs/report" (HTTP 403): the ACL token lacks the rule ' +
        'key "jobs/report" { policy = "write" }. The election needs key:write on "jobs/report", ' +
        'session:write on node "node-7", service:write on "leader-jobs-report-1a2b3c4d" (its health ' +
        "check), node:read on the candidates' nodes (docs/operations/acl.md).",
    );
  });

  it('leaves the service and node rules out without a health check', () => {
    const message = ElectionMessages.forbidden({
      ...refusal,
      serviceName: null,
      operation: 'session create',
      node: null,
    });
    expect(message).toContain(
      `The election needs key:write on "jobs/report", session:write on this agent's node (docs/`,
    );
  });
});
