// The Nest layer's texts about `@ClusterCron` jobs: each names the job, where it is declared, the
// option and what it accepts.

const job = (name: string, declaredAt: string): string =>
  name === declaredAt ? `@ClusterCron ${declaredAt}` : `@ClusterCron "${name}" (${declaredAt})`;

export const ClusterCronMessages = {
  invalidOption: (
    name: string,
    declaredAt: string,
    field: string,
    value: unknown,
    accepted: string,
  ): string =>
    `${job(name, declaredAt)}: option "${field}" is ${show(value)}; accepted: ${accepted}.`,
  unknownOption: (declaredAt: string, field: string, known: readonly string[]): string =>
    `@ClusterCron ${declaredAt}: unknown option "${field}"; known: ${known.join(', ')}.`,
  invalidCron: (name: string, declaredAt: string, problem: string): string =>
    `${job(name, declaredAt)}: ${problem}. Accepted: a cron expression as @Cron of @nestjs/schedule takes ` +
    `(5 or 6 fields, or a CronExpression value), with "timeZone" an IANA zone.`,
  duplicateName: (name: string, places: readonly string[]): string =>
    `Two @ClusterCron jobs of one election are named "${name}" (${places.join(' and ')}): a job's name ` +
    'is its record in Consul, so each needs its own ("name" option).',
  notSingleton: (declaredAt: string): string =>
    `@ClusterCron ${declaredAt}: its class is request-scoped or transient; a cluster job needs one ` +
    'instance per app (a default-scoped provider).',
  notAMethod: (declaredAt: string): string =>
    `@ClusterCron ${declaredAt}: only an instance method can be a cluster job (not a static one).`,
  missingElection: (declaredAt: string, election: string): string =>
    `@ClusterCron ${declaredAt} follows election "${election}", but this app has no such election: ` +
    `import ConsulLeaderModule.forRoot({ name: '${election}', ... }).`,
  noTxnPort: (key: string): string =>
    `The election on "${key}" was given a consulPort without transact()/sessionAlive(): @ClusterCron ` +
    'jobs need them (NodeConsulPort has them).',
  unknownJob: (name: string, known: readonly string[]): string =>
    `No @ClusterCron job "${name}" in this election; its jobs: ${known.length ? known.join(', ') : 'none'}.`,
  jobsFound: (names: readonly string[]): string =>
    names.length === 0 ? 'No @ClusterCron jobs' : `@ClusterCron jobs: ${names.join(', ')}`,
  stopTimedOut: (ms: number): string =>
    `@ClusterCron jobs still running ${ms} ms after their signal aborted: shutting down without their outcome written`,
};

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
