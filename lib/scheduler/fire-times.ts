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
   * fires: past {@link MAX_WALK} steps the walk starts again nearer `until`, and the count of the
   * earlier fires becomes a lower bound (`exact: false`).
   */
  between(
    after: number,
    until: number,
    limit: number,
  ): { times: number[]; earlier: number; exact: boolean } {
    let from = after;
    let exact = true;
    for (;;) {
      const walk = this.walk(from, until, limit);
      if (walk) return { ...walk, exact };
      exact = false;
      from = Math.floor(until - (until - from) / 2);
    }
  }

  private walk(
    from: number,
    until: number,
    limit: number,
  ): { times: number[]; earlier: number } | null {
    const times: number[] = [];
    let earlier = 0;
    for (let t = this.next(from), steps = 0; t <= until; t = this.next(t), steps += 1) {
      if (steps >= MAX_WALK) return null;
      times.push(t);
      if (times.length > limit) {
        times.shift();
        earlier += 1;
      }
    }
    return { times, earlier };
  }
}

const MAX_WALK = 10_000;
