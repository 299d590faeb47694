// The real-Consul test harness: find or provision a binary, start agents and clusters on free
// loopback ports, cut links with a TCP proxy, and stop everything by PID.
export {
  CONSUL_SOURCE_HELP,
  DEFAULT_SESSION_TTL_MIN,
  ensureConsulSource,
  resolveConsulSource,
  startConsulAgent,
  startConsulCluster,
  type ConsulAgent,
  type ConsulCluster,
  type ConsulProbe,
  type ConsulSource,
  type StartAgentOptions,
} from './consul-harness';
export { startTcpProxy, type TcpProxy } from './tcp-proxy';
