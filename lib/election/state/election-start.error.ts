import { ElectionMessages } from '../election.messages';
import type { ElectionProblem } from './leadership-state';

/**
 * Thrown by `start()` with `failFast` (and by the Nest module's bootstrap) when the first answers
 * show a problem retrying cannot fix; the election has been stopped.
 */
export class ElectionStartError extends Error {
  override readonly name = 'ElectionStartError';

  constructor(
    /** The election's key. */
    readonly key: string,
    /** The problem the first answers showed, as `state.problem` carried it. */
    readonly problem: ElectionProblem,
  ) {
    super(ElectionMessages.startFailed(key, problem.message));
  }
}
