import { killRecorded, liveRecords, RUN_ID_ENV } from '../../harness/process-registry';

/**
 * Jest globalTeardown: stops every agent this run started that a suite left behind (a failed
 * `beforeAll`, a missing `afterAll`, a killed worker), plus orphans of earlier runs whose owner
 * is gone. Agents of another Jest run still in progress in the same tree are left alone.
 */
export default async function globalTeardown(): Promise<void> {
  const leftovers = liveRecords({ runId: process.env[RUN_ID_ENV], orphansOnly: true });
  if (leftovers.length === 0) return;
  const names = leftovers.map((r) => `${r.node} (pid ${r.pid})`).join(', ');
  console.warn(`\n[consul-harness] stopping ${leftovers.length} agent(s) left running: ${names}`);
  const survivors = await killRecorded(leftovers);
  if (survivors.length > 0) {
    console.error(
      `[consul-harness] could not stop: ${survivors.map((r) => `pid ${r.pid}`).join(', ')}`,
    );
  }
}
