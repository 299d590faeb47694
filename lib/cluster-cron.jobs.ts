import { parseDuration } from './election';
import type { ClusterJob, FireContext } from './scheduler/cluster-job';
import { FireSchedule } from './scheduler/fire-times';
import type { MisfirePolicy } from './scheduler/misfire-plan';
import { ClusterCronMessages } from './cluster-cron.messages';
import { normalizeElectionName } from './consul-leader.tokens';
import type { ClusterCronMetadata } from './decorators/cluster-cron.decorator';
import type { ClusterCronOptions } from './interfaces/cluster-cron-options.interface';
import type { KnownKeys } from './election/options/option-keys';

// From what `@ClusterCron` declared to the core's ClusterJob: every option checked, with a message
// that names the job, the option and what it accepts.

const KNOWN: KnownKeys<ClusterCronOptions> = {
  name: true,
  timeZone: true,
  overlap: true,
  misfire: true,
  orphans: true,
  grace: true,
  election: true,
};

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_CATCH_UP = 100;
const MIN_WITHIN_MS = 1_000;
const MAX_WITHIN_MS = 30 * 24 * 3_600_000;
const MAX_GRACE_MS = 3_600_000;
const DEFAULT_GRACE_MS = 1_000;

/** A job as the explorer found it: the core's job, where it was declared and which election runs it. */
export interface DeclaredJob extends ClusterJob {
  /** `Class.method`. */
  readonly declaredAt: string;
  /** The election whose leader runs it; null for the unnamed one. */
  readonly election: string | null;
}

/** @throws {Error} naming the job, the option and its accepted range, for the first wrong option. */
export function resolveClusterJob(
  declaredAt: string,
  metadata: ClusterCronMetadata,
  handler: (context: FireContext) => unknown,
): DeclaredJob {
  const options: ClusterCronOptions = metadata.options ?? {};
  const name = options.name ?? declaredAt;
  const wrong = (field: string, value: unknown, accepted: string): Error =>
    new Error(ClusterCronMessages.invalidOption(name, declaredAt, field, value, accepted));
  if (typeof options !== 'object' || options === null) throw wrong('options', options, 'an object');
  for (const key of Object.keys(options)) {
    if (!Object.prototype.hasOwnProperty.call(KNOWN, key))
      throw new Error(ClusterCronMessages.unknownOption(declaredAt, key, Object.keys(KNOWN)));
  }
  if (typeof name !== 'string' || !NAME.test(name) || name === '.' || name === '..')
    throw wrong('name', name, 'letters, digits, ".", "_" and "-", 1 to 128 of them');
  if (options.timeZone !== undefined && (typeof options.timeZone !== 'string' || !options.timeZone))
    throw wrong('timeZone', options.timeZone, 'an IANA time zone such as "Europe/Paris"');
  if (typeof metadata.cronTime !== 'string')
    throw new Error(
      ClusterCronMessages.invalidCron(
        name,
        declaredAt,
        `the expression is ${typeof metadata.cronTime}, not a string`,
      ),
    );
  try {
    new FireSchedule(metadata.cronTime, options.timeZone);
  } catch (error) {
    throw new Error(ClusterCronMessages.invalidCron(name, declaredAt, (error as Error).message));
  }
  const overlap = options.overlap ?? 'skip';
  if (overlap !== 'skip' && overlap !== 'allow')
    throw wrong('overlap', overlap, "'skip' or 'allow'");
  const orphans = options.orphans ?? 'record';
  if (orphans !== 'record' && orphans !== 'rerun')
    throw wrong('orphans', orphans, "'record' or 'rerun'");
  const graceMs = options.grace === undefined ? DEFAULT_GRACE_MS : parseDuration(options.grace);
  if (graceMs === undefined || graceMs > MAX_GRACE_MS)
    throw wrong('grace', options.grace, "a duration from 0 to 1h (ms, or a string such as '2s')");
  let election: string | null;
  try {
    election = normalizeElectionName(options.election);
  } catch {
    throw wrong('election', options.election, 'the name of an election (a non-empty string)');
  }
  return {
    name,
    cronTime: metadata.cronTime,
    ...(options.timeZone ? { timeZone: options.timeZone } : {}),
    overlap,
    misfire: resolveMisfire(options.misfire, wrong),
    orphans,
    graceMs,
    handler,
    declaredAt,
    election,
  };
}

function resolveMisfire(
  misfire: ClusterCronOptions['misfire'],
  wrong: (field: string, value: unknown, accepted: string) => Error,
): MisfirePolicy {
  if (misfire === undefined) return 'run-once';
  if (misfire === 'skip' || misfire === 'run-once') return misfire;
  if (typeof misfire !== 'object' || misfire === null)
    throw wrong('misfire', misfire, "'skip', 'run-once' or { catchUp, within }");
  const { catchUp, within } = misfire;
  if (!Number.isInteger(catchUp) || catchUp < 1 || catchUp > MAX_CATCH_UP)
    throw wrong('misfire.catchUp', catchUp, `an integer from 1 to ${MAX_CATCH_UP}`);
  const withinMs = parseDuration(within);
  if (withinMs === undefined || withinMs < MIN_WITHIN_MS || withinMs > MAX_WITHIN_MS)
    throw wrong(
      'misfire.within',
      within,
      "a duration from 1s to 720h (ms, or a string such as '1h')",
    );
  return { catchUp, withinMs };
}
