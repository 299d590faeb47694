// The real-Consul harness moved to the top-level harness/ (bench/ and scripts/ use it too); these
// names stay importable from test/support for the specs that import them from here.
export * from '../../harness';
