# Added to candidate.hcl when the election on <KEY> runs @ClusterCron jobs: every candidate may come
# to run them.

# Claim each fire, skip or orphan one, write a run's outcome (KV transactions on each job's record),
# and list the records for ClusterScheduler.describe().
key_prefix "<KEY>/jobs/" {
  policy = "write"
}

# Tell whether the owner of a running fire still lives (its session, on whichever node): without
# it a run whose owner died is never recorded orphaned (a warning says so).
session_prefix "" {
  policy = "read"
}
