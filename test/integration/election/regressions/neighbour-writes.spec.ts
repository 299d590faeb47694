// Issue 9, defect 5: a blocking read of an absent key wakes whenever the KV store's index moves, also
// for writes to other keys. Each wake restarted the time the vacancy was first seen, and with it the
// rank timer of ordered succession: a candidate ranked above 0 never campaigned while writes came
// faster than rank × successionStep.
import { uniqueKey, waitForState } from '../../../support/election-kit';
import { useRealConsul } from '../../../support/election-fixture';
import { instanceIdInSlot } from '../../../support/succession-slot';

const WRITE_EVERY_MS = 300;
/** Rank 7 × successionStep (100 ms) + the lease (600 ms) + generous room. */
const LEAD_BOUND_MS = 5_000;

describe('an absent key while neighbouring keys are written (issue 9, defect 5)', () => {
  const consul = useRealConsul();

  it('is taken within seconds by a lone candidate in the last succession slot while another client writes neighbour keys', async () => {
    const prefix = uniqueKey('neighbours');
    const key = `${prefix}/leader`;
    const neighbours = [`${key}-heartbeat`, `${prefix}/other`];
    let writes = 0;
    const writer = setInterval(() => {
      for (const neighbour of neighbours) {
        void fetch(`${consul.agent.address}/v1/kv/${neighbour}`, {
          method: 'PUT',
          body: String(writes++),
          signal: AbortSignal.timeout(2_000),
        }).catch(() => undefined);
      }
    }, WRITE_EVERY_MS);
    consul.afterThisTest(() => clearInterval(writer));

    const lone = consul.candidate(key, instanceIdInSlot('lone', 7));
    const startedAt = performance.now();
    lone.start();
    const led = await waitForState(lone, (s) => s.role === 'leader', LEAD_BOUND_MS).then(
      () => Math.round(performance.now() - startedAt),
      () => null,
    );
    expect({ ledAfterMs: led, neighbourWrites: writes > 0 }).toEqual({
      ledAfterMs: expect.any(Number),
      neighbourWrites: true,
    });
  });
});
