// The real-Consul harness that test/, bench/ and scripts/ share: find or provision a binary, start
// agents and clusters on free loopback ports, put proxies between clients and agents (cut, fault,
// count), poll with deadlines, and stop everything by PID. Not part of the published package.
export * from './consul-harness';
export * from './fast-timings';
export * from './http-fault-proxy';
export * from './ports';
export * from './round-robin-proxy';
export * from './tcp-proxy';
