# `nestjs-consul-leader status <KEY>` and any read-only observer: the key, the holder's session
# (on whichever node it is), and the candidates with their checks.

key "<KEY>" {
  policy = "read"
}

session_prefix "" {
  policy = "read"
}

service "<SERVICE>" {
  policy = "read"
}

node_prefix "" {
  policy = "read"
}
