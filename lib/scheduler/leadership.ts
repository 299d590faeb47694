import type { ConsulKeyPort } from '../election/consul/consul-port';
import type { LeaderElection } from '../election/leader-election';
import { decodeLeaderValue } from '../election/protocol/leader-value';

/** This instance's current leadership, as the job runners need it. */
export interface Lead {
  /** The election's key: every fire decision checks that `sessionId` still holds it. */
  readonly electionKey: string;
  /** The session that holds the key for this term. */
  readonly sessionId: string;
  /** Aborted when the term ends (lease deadline, lost key, resign, stop). */
  readonly signal: AbortSignal;
}

/** Who runs the jobs: in part 1, whoever leads the module's election. */
export interface Leadership {
  /** The current term, or null while this instance does not lead. */
  current(): Lead | null;
  /** Calls `listener` whenever `current()` may have changed; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

/**
 * The leadership of a {@link LeaderElection}. The election does not publish its session, so at the
 * start of each term it is read from the key (one read per term): during the term the key is held
 * by this instance's session. A wrong guess could only make every claim fail its `check-session`,
 * never claim a fire without leading.
 */
export function electionLeadership(
  election: LeaderElection,
  port: ConsulKeyPort,
  timeoutMs: number,
): Leadership & { dispose(): void } {
  const listeners = new Set<() => void>();
  let lead: Lead | null = null;
  let termSignal: AbortSignal | null = null;
  const notify = (): void => {
    for (const listener of [...listeners]) listener();
  };
  const learn = async (signal: AbortSignal): Promise<void> => {
    for (let attempt = 0; attempt < 3 && !signal.aborted; attempt += 1) {
      try {
        const { entry } = await port.readKey(election.options.key, { timeoutMs });
        const holder = decodeLeaderValue(entry?.value ?? null);
        if (signal.aborted || termSignal !== signal) return;
        if (entry?.session && holder?.instanceId === election.instanceId) {
          lead = { electionKey: election.options.key, sessionId: entry.session, signal };
          notify();
        }
        return;
      } catch {
        // Read again: until then, this instance runs no job (a missed fire, not a doubled one).
      }
    }
  };
  const subscription = election.state$.subscribe((state) => {
    const signal = state.term?.signal ?? null;
    if (signal === termSignal) return;
    termSignal = signal;
    if (lead) {
      lead = null;
      notify();
    }
    if (signal) void learn(signal);
  });
  return {
    current: () => (lead && !lead.signal.aborted ? lead : null),
    onChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose: () => subscription.unsubscribe(),
  };
}
