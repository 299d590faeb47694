// The real-Consul harness that test/, bench/ and scripts/ share: find or provision a binary, start
// agents and clusters on free loopback ports, put proxies between clients and agents (cut, fault,
// count), poll with deadlines, and stop everything by PID. Not part of the published package.
export * from './consul-agent';
export * from './consul-cluster';
export {
  CONSUL_SOURCE_HELP,
  ensureConsulSource,
  resolveConsulSource,
  type ConsulProbe,
  type ConsulSource,
} from './consul-source';
export * from './start-agent';
export * from './fast-timings';
export * from './election-requests';
export * from './http-fault-proxy';
export * from './poll';
export * from './ports';
export * from './round-robin-proxy';
export * from './tcp-proxy';
