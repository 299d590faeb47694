# Every candidate of the election on <KEY>: leaders and followers alike, since any follower may
# become the leader. Replace <KEY>, <SERVICE> (healthCheck.serviceName, default
# leader-<key>-<hash>, logged at bootstrap and shown by `nestjs-consul-leader status`) and <NODE>
# (the node of the Consul agent the instance talks to).

# Read and watch the key, and take, confirm, rewrite and release it (KV transactions).
key "<KEY>" {
  policy = "write"
}

# Open, renew and destroy the candidate's session, which Consul creates on the agent's node.
session "<NODE>" {
  policy = "write"
}

# Register the candidate's service and TTL check, keep the check passing, deregister at stop.
service "<SERVICE>" {
  policy = "write"
}

# See the candidates on every node: Consul hides the instances on nodes the token may not read,
# and the leader would name no successors.
node_prefix "" {
  policy = "read"
}
