import type { StepDownReason } from '../protocol/holding';
import type { ElectionProblemKind } from './leadership-state';

/** Why this instance's role changed: a term began (`acquired`) or ended for a {@link StepDownReason}. */
export type TransitionReason = 'acquired' | StepDownReason;

/**
 * What happened inside an election, one event per occurrence — for metrics and tracing, which need
 * what a state snapshot does not carry: why a term ended, how long a confirmation took, each failed
 * request (the state shows a problem once, however often it recurs).
 */
export type ElectionEvent =
  /** A term began or ended. Emitted after the state that shows the new role. */
  | { readonly type: 'transition'; readonly reason: TransitionReason }
  /** A hold confirmation came back: `confirmed` false means Consul said the hold is gone. */
  | { readonly type: 'confirmation'; readonly durationMs: number; readonly confirmed: boolean }
  /** A request to Consul failed (every failure, retries included). */
  | { readonly type: 'problem'; readonly kind: ElectionProblemKind; readonly operation: string };
