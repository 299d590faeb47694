import type { Holding } from './holding';
import type { KeyRelease } from './release';
import { mayClaimReleased } from './takeover';

/**
 * The release after `resign()` stepped down: with the "released" marker only when the term acted
 * and its leader work drained in time (SAFETY.md rule 3). Resolves once Consul answered the first
 * try; when it refused, the retries go on in the background with backoff, and `resign()` does not
 * hang on a Consul that keeps refusing.
 */
export async function releaseAfterResign(
  release: KeyRelease,
  holding: Holding,
  acted: boolean,
  drained: Promise<boolean>,
): Promise<void> {
  let attempted = (): void => undefined;
  const firstAttempt = new Promise<void>((resolve) => (attempted = resolve));
  const released = release.release(
    holding.session,
    holding,
    drained.then((workDrained) =>
      mayClaimReleased({ acted, workDrained, vacancy: holding.vacancy }),
    ),
    attempted,
  );
  await Promise.race([released, firstAttempt]);
}
