// Every text the NestJS layer shows a user, in one place. Each says what to do next.

/** How a user sets up election `name` (undefined: the default election). */
export const describeForRoot = (name: string | null | undefined): string =>
  name == null
    ? 'ConsulLeaderModule.forRoot()'
    : `ConsulLeaderModule.forRoot({ name: '${name}', ... })`;

export const describeLeaderOnly = (name: string | null | undefined): string =>
  name == null ? '@LeaderOnly()' : `@LeaderOnly('${name}')`;

/**
 * Description of the symbol under which a `@LeaderOnly` class receives its service. Nest prints
 * this key verbatim when property injection fails, so it is worded as the fix.
 */
export const SERVICE_PROPERTY_DESCRIPTION = (name: string | null): string =>
  `${describeLeaderOnly(name)} needs ConsulLeaderService: import ${describeForRoot(name)} into this app ` +
  `(it is global unless isGlobal: false; then import it into this module)`;

export const INVALID_ELECTION_NAME = (name: unknown): string =>
  `nestjs-consul-leader: an election name must be a non-empty string, got ${JSON.stringify(name)}. ` +
  'Leave it out for the default election.';

export const INVALID_MODULE_OPTIONS = (name: string | null, reason: string): string =>
  `${describeForRoot(name)}: invalid options: ${reason}`;

export const NOT_A_METHOD = (className: string, key: string): string =>
  `@LeaderOnly() on ${className}.${key}: it decorates methods only.`;

export const STATIC_METHOD = (className: string, key: string): string =>
  `@LeaderOnly() on static ${className}.${key}: it decorates instance methods only ` +
  '(the election is reached through the instance that the app created).';

export const CALL_SKIPPED = (label: string): string =>
  `Skipped ${label}: this instance is not the leader`;

export const NO_SERVICE_REACHABLE = (label: string, name: string | null): string =>
  `${describeLeaderOnly(name)} ${label} is skipped: its instance has no ConsulLeaderService. It was not ` +
  `created by a Nest app that imports ${describeForRoot(name)} (created with new, or a request-scoped ` +
  'factory provider?). It stays skipped (fail closed); this is logged once per method.';

export const MISSING_ELECTION = (className: string, name: string | null): string =>
  `${className} uses ${describeLeaderOnly(name)}, but this app has no such election: import ` +
  `${describeForRoot(name)}.`;

export const INSTANCE_SHARED_BETWEEN_APPS = (className: string, name: string | null): string =>
  `${className} (a useValue/useFactory provider) already follows ${describeLeaderOnly(name)} of another ` +
  'Nest app. One object cannot honour the leadership of two apps: give each app its own instance.';

export const GUARD_WITHOUT_SERVICE = (name: string | null): string =>
  `LeaderOnlyGuard denies every request: this app has no ConsulLeaderService for ${describeLeaderOnly(name)}. ` +
  `Import ${describeForRoot(name)}.`;

export const NOT_LEADER_ANSWER = (leader: string | null): string =>
  leader === null
    ? 'This instance is not the leader and no leader is known yet; retry after Retry-After seconds.'
    : `This instance is not the leader; "${leader}" is.`;

export const WAITING_FOR_ELECTION = 'Waiting for the first election result (waitForElection: true)';

export const SETTLED_AS = (role: string, problem: string | undefined): string =>
  problem
    ? `First election result: ${role}; Consul problem: ${problem}`
    : `First election result: ${role}`;

export const DRAINING = (count: number): string =>
  `Stepped down for shutdown; waiting for ${count} in-flight @LeaderOnly call(s)`;

export const LEADER_ONLY_METHODS_FOUND = (methods: string[]): string =>
  `@LeaderOnly methods: ${methods.length ? methods.join(', ') : 'none'}`;
