import { CronTime } from 'cron';

/**
 * The fire times of a cron expression, as `@nestjs/schedule`'s `@Cron` computes them (the `cron`
 * package's CronTime: the same syntax, `CronExpression` values and time zones). A fire time T is a
 * point of the schedule, not the moment a timer went off: it is the fire's identity.
 */
export class FireSchedule {
  private readonly cronTime: CronTime;

  /**
   * @param timeZone IANA zone the expression is read in; the process's zone when absent, as `@Cron`.
   * @throws {Error} naming the expression when `cron` refuses it.
   */
  constructor(
    readonly expression: string,
    readonly timeZone?: string,
  ) {
    try {
      this.cronTime = new CronTime(expression, timeZone);
    } catch (error) {
      throw new Error(
        `Cron expression "${expression}"${timeZone ? ` in ${timeZone}` : ''} is invalid: ${(error as Error).message}`,
      );
    }
  }

  /** The first fire time strictly after `after` (ms since epoch). */
  next(after: number): number {
    return this.cronTime.getNextDateFrom(new Date(after), this.timeZone).toMillis();
  }

  /**
   * The fire times in `(after, until]`, oldest first, but only the latest `limit` of them, and how
   * many came before those. A job down for a month at one fire a second must not walk millions of
   * fires (each costs CronTime a fraction of a millisecond): past {@link MAX_WALK} steps, the walk
   * starts again near `until`, at a distance the fires seen so far say holds `limit` of them, and
   * the count of earlier fires becomes an estimate (`exact: false`).
   */
  between(
    after: number,
    until: number,
    limit: number,
  ): { times: number[]; earlier: number; exact: boolean } {
    const first = this.walk(after, until, limit);
    if (first.complete) return { times: first.times, earlier: first.earlier, exact: true };
    let from = after;
    let estimated = 0;
    for (let density = first.density; ;) {
      // Twice the span that should hold `limit` fires at the density seen, never less than a step.
      const span = Math.max(((limit + 1) / density) * 2, 1);
      // Always closer to `until`: for a limit above half a walk the span reached back past `from`,
      // and the same walk began again for ever (a hung event loop). Halving what is left ends it.
      const nextFrom = Math.max(
        Math.floor(until - span),
        from + Math.max(1, Math.floor((until - from) / 2)),
      );
      estimated += Math.round((nextFrom - from) * density);
      from = nextFrom;
      const walk = this.walk(from, until, limit);
      if (walk.complete) {
        return { times: walk.times, earlier: estimated + walk.earlier, exact: false };
      }
      density = walk.density;
    }
  }

  private walk(
    from: number,
    until: number,
    limit: number,
  ): { times: number[]; earlier: number; complete: boolean; density: number } {
    const times: number[] = [];
    let earlier = 0;
    let t = this.next(from);
    for (let steps = 0; t <= until; t = this.next(t), steps += 1) {
      if (steps >= MAX_WALK) {
        return { times, earlier, complete: false, density: steps / Math.max(t - from, 1) };
      }
      times.push(t);
      if (times.length > limit) {
        times.shift();
        earlier += 1;
      }
    }
    return { times, earlier, complete: true, density: 0 };
  }
}

const MAX_WALK = 500;
