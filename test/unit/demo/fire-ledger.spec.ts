// The demo's fire ledger (scripts/demo/fire-ledger.ts): every scheduled time between the first and
// the last fire seen is accounted for once, from what the instances logged.
import { fireNoteOf, ledgerOf, type FireNote } from '../../../scripts/demo/fire-ledger';
import { SchedulerMessages } from '../../../lib/scheduler/scheduler.messages';

const T0 = Date.UTC(2026, 11, 8, 3, 0, 0);
const at = (s: number): number => T0 + s * 1_000;
const ran = (s: number, token: number, attempt = 1): string =>
  `fire heartbeat ${new Date(at(s)).toISOString()} ran (fencing token ${token}, attempt ${attempt})`;

function notes(lines: Array<[string, string]>): FireNote[] {
  return lines.flatMap(([instance, message]) => {
    const note = fireNoteOf(message, instance);
    return note ? [note] : [];
  });
}

describe('the demo fire ledger', () => {
  it('reads the sample job line and the library lines for skips and orphans', () => {
    expect(fireNoteOf(ran(1, 7), 'a')).toEqual({
      kind: 'ran',
      job: 'heartbeat',
      fireTime: at(1),
      token: 7,
      attempt: 1,
      instance: 'a',
    });
    expect(fireNoteOf(SchedulerMessages.skipped('heartbeat', at(2), 'misfire'), 'b')).toMatchObject(
      {
        kind: 'skipped',
        fireTime: at(2),
        reason: 'misfire',
      },
    );
    expect(fireNoteOf(SchedulerMessages.skipped('heartbeat', at(2), 'overlap'), 'b')).toMatchObject(
      {
        kind: 'skipped',
        reason: 'overlap',
      },
    );
    expect(
      fireNoteOf(SchedulerMessages.orphaned('heartbeat', at(3), 9, 'a', false), 'b'),
    ).toMatchObject({
      kind: 'orphaned',
      fireTime: at(3),
      token: 9,
    });
    expect(fireNoteOf(SchedulerMessages.skippedEarlier('heartbeat', 4, true), 'b')).toMatchObject({
      kind: 'skipped-summary',
      count: 4,
    });
    expect(fireNoteOf('tick 3 (fencing token 7)', 'a')).toBeUndefined();
  });

  it('accounts for a crash: runs, a run orphaned, misfires skipped, the latest run late', () => {
    const ledger = ledgerOf(
      'heartbeat',
      '* * * * * *',
      notes([
        ['a', ran(0, 10)],
        ['a', ran(1, 12)],
        ['a', ran(2, 14)],
        ['b', SchedulerMessages.orphaned('heartbeat', at(2), 14, 'a', false)],
        ['b', SchedulerMessages.skipped('heartbeat', at(3), 'misfire')],
        ['b', SchedulerMessages.skipped('heartbeat', at(4), 'misfire')],
        ['b', ran(5, 20)],
        ['b', ran(6, 22)],
      ]),
    );
    expect(ledger).toMatchObject({
      fires: 7,
      ran: 5,
      orphaned: 1,
      skipped: { misfire: 2 },
      tokensGrow: true,
    });
    expect(ledger.doubled).toEqual([]);
    expect(ledger.lost).toEqual([]);
    expect(ledger.byInstance).toEqual({ a: 3, b: 2 });
  });

  it('finds a fire run twice, one nobody mentions, and tokens that went back', () => {
    const ledger = ledgerOf(
      'heartbeat',
      '* * * * * *',
      notes([
        ['a', ran(0, 10)],
        ['a', ran(1, 12)],
        ['b', ran(1, 13)],
        ['b', ran(3, 11)],
      ]),
    );
    expect(ledger.doubled).toEqual([at(1)]);
    expect(ledger.lost).toEqual([at(2)]);
    expect(ledger.tokensGrow).toBe(false);
  });

  it('lets an orphan run again only as a later attempt', () => {
    const ledger = ledgerOf(
      'heartbeat',
      '* * * * * *',
      notes([
        ['a', ran(0, 10)],
        ['b', SchedulerMessages.orphaned('heartbeat', at(0), 10, 'a', true)],
        ['b', ran(0, 15, 2)],
      ]),
    );
    expect(ledger.doubled).toEqual([]);
    expect(ledger).toMatchObject({ fires: 1, ran: 1, orphaned: 1 });
  });

  it('places a misfire summary on the fires no line names', () => {
    const ledger = ledgerOf(
      'heartbeat',
      '* * * * * *',
      notes([
        ['a', ran(0, 10)],
        ['b', SchedulerMessages.skippedEarlier('heartbeat', 2, true)],
        ['b', ran(3, 20)],
      ]),
    );
    expect(ledger.lost).toEqual([]);
    expect(ledger.skipped).toEqual({ misfire: 2 });
  });
});
