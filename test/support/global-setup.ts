import { ensureConsulSource } from '../../harness/consul-source';
import { RUN_ID_ENV } from '../../harness/process-registry';

/**
 * Jest globalSetup: resolves where Consul comes from once (fetching the Debian package if that
 * is the way) and hands it to the workers through the environment they inherit, so each worker
 * neither probes Docker nor races for the download. Suites that do not use Consul pay nothing
 * more than this one resolution.
 */
export default async function globalSetup(): Promise<void> {
  process.env[RUN_ID_ENV] = `${process.pid}-${Date.now()}`;
  let source;
  try {
    source = await ensureConsulSource();
  } catch (error) {
    // Suites that need Consul fail with this same message; unit suites still run.
    console.warn(`\n[consul-harness] ${(error as Error).message}\n`);
    return;
  }
  if (source.kind === 'binary' || source.kind === 'debian') process.env.CONSUL_BIN = source.binary;
  if (process.env.CONSUL_HARNESS_QUIET !== '1') {
    console.log(`\n[consul-harness] Consul from ${source.kind}: ${source.detail}`);
  }
}
