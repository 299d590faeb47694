// Every text the NestJS layer shows a user, in one place. Each says what to do next.

/** How a user sets up election `name` (undefined: the default election). */
export const describeForRoot = (
  name: string | null | undefined,
  method: 'forRoot' | 'forRootAsync' = 'forRoot',
): string =>
  name == null
    ? `ConsulLeaderModule.${method}()`
    : `ConsulLeaderModule.${method}({ name: '${name}', ... })`;

export const describeLeaderOnly = (name: string | null | undefined): string =>
  name == null ? '@LeaderOnly()' : `@LeaderOnly('${name}')`;

/**
 * Description of the symbol under which a `@LeaderOnly` class receives its service. Nest prints
 * this key verbatim when property injection fails, so it is worded as the fix.
 */
export const SERVICE_PROPERTY_DESCRIPTION = (name: string | null): string =>
  `${describeLeaderOnly(name)} needs ConsulLeaderService: import ${describeForRoot(name)} into this app ` +
  '(global by default; with isGlobal: false, call forRoot() once, in a module that has exports: ' +
  '[ConsulLeaderModule], and import that module here)';

export const INVALID_ELECTION_NAME = (name: unknown): string =>
  `nestjs-consul-leader: an election name must be a non-empty string, got ${JSON.stringify(name)}. ` +
  'Leave it out for the default election.';

export const INVALID_MODULE_OPTIONS = (
  name: string | null,
  method: 'forRoot' | 'forRootAsync',
  reason: string,
): string => `${describeForRoot(name, method)}: invalid options: ${reason}`;

export const EXTRA_IN_OPTIONS = (field: 'name' | 'isGlobal'): string =>
  `ConsulLeader option "${field}" shapes the module before any option is known: give it beside ` +
  `useFactory, useClass or useExisting (forRootAsync({ ${field}, useFactory })), not in the options they return.`;

export const INVALID_MODULE_EXTRA = (name: string | null, field: string, value: unknown): string =>
  `${describeForRoot(name)}: option "${field}" is ${JSON.stringify(value) ?? String(value)}; accepted: true or false.`;

/** One registration, as the errors about two of them show it. */
export const describeOrigin = (origin: { method: string; at: string | undefined }): string =>
  `ConsulLeaderModule.${origin.method}() at ${origin.at ?? 'an unknown place'}`;

const SHARE_ONE_ELECTION =
  'An app runs one election per key: call forRoot() once (the module is global by default). With ' +
  'isGlobal: false, call it in one module that has exports: [ConsulLeaderModule], and import that module ' +
  'wherever the election is needed. For two keys, give each election a name.';

export const ELECTIONS_SHARE_KEY = (key: string, origins: string[]): string =>
  `nestjs-consul-leader: two ConsulLeaderModule elections compete for key "${key}" in one app: ` +
  `${origins.join(' and ')}. Each would win the key on its own, and @LeaderOnly follows only one of ` +
  `them: when the other wins, the job runs on no replica. ${SHARE_ONE_ELECTION}`;

export const ELECTIONS_SHARE_NAME = (name: string | null, origins: string[]): string =>
  `nestjs-consul-leader: two ${describeForRoot(name)} elections ${name === null ? 'without a name' : 'with one name'} in one app: ` +
  `${origins.join(' and ')}. ${describeLeaderOnly(name)} and injection would follow only one of them. ${SHARE_ONE_ELECTION}`;

export const NOT_A_METHOD = (className: string, key: string): string =>
  `@LeaderOnly() on ${className}.${key}: it decorates methods only.`;

export const STATIC_METHOD = (className: string, key: string): string =>
  `@LeaderOnly() on static ${className}.${key}: it decorates instance methods only ` +
  '(the election is reached through the instance that the app created).';

export const CALL_SKIPPED = (label: string): string =>
  `Skipped ${label}: this instance is not the leader (logged once per method until the role changes)`;

export const NO_SERVICE_REACHABLE = (label: string, name: string | null): string =>
  `${describeLeaderOnly(name)} ${label} is skipped: its instance has no ConsulLeaderService. Either no ` +
  `Nest app that imports ${describeForRoot(name)} created it (made with new?), or its app has shut down, ` +
  'or a factory provider made it for an app without that election. It stays skipped (fail closed); ' +
  'this is logged once per method.';

export const MISSING_ELECTION = (className: string, name: string | null): string =>
  `${className} uses ${describeLeaderOnly(name)}, but this app has no such election: import ` +
  `${describeForRoot(name)} (once; with isGlobal: false, in a module that has exports: ` +
  '[ConsulLeaderModule], imported where it is needed).';

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

export const SETTLED_AS = (state: {
  role: string;
  leader: { instanceId: string } | null;
  problem: { message: string } | null;
}): string => {
  if (state.role === 'leader') return 'First election result: leader';
  if (state.problem)
    return `First election result: ${state.role}; Consul problem: ${state.problem.message}`;
  if (state.leader) return `First election result: follower of ${state.leader.instanceId}`;
  return `First election result: ${state.role}`;
};

export const DRAINING = (count: number): string =>
  `Stepped down; waiting for ${count} in-flight @LeaderOnly call(s) before releasing the key`;

export const LEADER_ONLY_METHODS_FOUND = (methods: string[]): string =>
  `@LeaderOnly methods: ${methods.length ? methods.join(', ') : 'none'}`;

export const NO_TERM_OPEN = 'No leadership term is open: this instance is not leading';

export const STUB_DRAIN_TIMEOUT = (value: unknown): string =>
  `createConsulLeaderServiceStub(): option "drainTimeout" is ${JSON.stringify(value)}; accepted: a duration of 0 or more (ms or '10s').`;
