import type { InjectionToken } from '@nestjs/common';
import { ConsulLeaderService } from './consul-leader.service';
import { INVALID_ELECTION_NAME, SERVICE_PROPERTY_DESCRIPTION } from './consul-leader.messages';

/**
 * Checks an election name: `undefined` (and `null`) mean the default election, anything else must
 * be a non-empty string. Returns `null` for the default election.
 */
export function normalizeElectionName(name: string | null | undefined): string | null {
  if (name === undefined || name === null) return null;
  if (typeof name !== 'string' || name.trim().length === 0)
    throw new Error(INVALID_ELECTION_NAME(name));
  return name;
}

/**
 * The injection token of an election's {@link ConsulLeaderService}: the class itself for the default
 * election (so `@Inject()` by type and `overrideProvider(ConsulLeaderService)` just work), the string
 * `ConsulLeaderService:<name>` for a named one.
 */
export function getConsulLeaderToken(name?: string): InjectionToken {
  const electionName = normalizeElectionName(name);
  return electionName === null ? ConsulLeaderService : `ConsulLeaderService:${electionName}`;
}

/**
 * The instance property through which a `@LeaderOnly` method reaches its app's service. One per
 * election name; `Symbol.for` so every decorator (and every copy of the library) agrees on it.
 * Its description is what Nest prints when the property cannot be injected, hence the wording.
 */
export function leaderOnlyServiceKey(name: string | null): symbol {
  return Symbol.for(SERVICE_PROPERTY_DESCRIPTION(name));
}
