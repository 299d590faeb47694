import type { Clock, TimerHandle } from '../time/clock';
import type { ElectionLogger, ResolvedElectionOptions } from '../options/election-options';
import { ElectionMessages } from '../election.messages';

/** Waits for in-flight leader work up to `drainTimeout`; true when it finished in time (SAFETY.md rule 3). */
export async function drainWithin(
  options: Pick<ResolvedElectionOptions, 'key' | 'drainTimeoutMs'>,
  clock: Clock,
  logger: ElectionLogger,
  drain: () => Promise<unknown>,
): Promise<boolean> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = clock.setTimer(() => resolve('timeout'), options.drainTimeoutMs);
  });
  try {
    const outcome = await Promise.race([drain().then(() => 'drained' as const), timeout]);
    if (outcome === 'timeout') {
      logger.warn(ElectionMessages.drainTimedOut(options.key, options.drainTimeoutMs));
      return false;
    }
    return true;
  } catch (error) {
    // The work is over, if badly: nothing of it still runs.
    logger.warn(ElectionMessages.drainFailed(options.key, (error as Error).message));
    return true;
  } finally {
    if (timer) clock.clearTimer(timer);
  }
}
