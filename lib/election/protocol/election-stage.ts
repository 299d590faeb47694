import type { Holding } from './holding';
import type { HeldKey } from './release';

/**
 * Where one election stands, as one value: a hold exists only while holding, and nothing is held
 * before start or once stop() began, so no combination of flags can say otherwise.
 *
 * - `idle`: constructed, not started.
 * - `following`: running without the key (campaigning, or waiting for a release to settle).
 * - `holding`: running with the key; `holding` is the hold from the acquire until the step-down.
 * - `stopping`: stop() began; `acquired` is a hold an acquire or adoption in flight won meanwhile,
 *   which stop() releases.
 * - `stopped`: stop() finished; the streams are complete.
 */
export type ElectionStage =
  | { readonly kind: 'idle' }
  | { readonly kind: 'following' }
  | { readonly kind: 'holding'; readonly holding: Holding }
  | { readonly kind: 'stopping'; readonly acquired: HeldKey | null }
  | { readonly kind: 'stopped' };

/** Whether the election runs: started, and stop() not yet called. */
export function isRunning(stage: ElectionStage): boolean {
  return stage.kind === 'following' || stage.kind === 'holding';
}

/** The hold of a holding stage; null in every other. */
export function holdingOf(stage: ElectionStage): Holding | null {
  return stage.kind === 'holding' ? stage.holding : null;
}
