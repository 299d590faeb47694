import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkSafety } from '../sim/checker';
import { LogReader, type ActRecord } from './chaos-log';
import { actingIntervals } from './segment';
import { overlaps } from './timeline';

const step = (p: string, tok: number, a: number, t0: number, t1 = t0 + 0.01): ActRecord => ({
  k: 'act',
  p,
  tok,
  a,
  t0,
  t1,
});

describe('the chaos log as the checker sees it', () => {
  it('makes one acting interval of an action, from its first step’s first read to its last step’s second read', () => {
    const intervals = actingIntervals([
      step('c1#1', 7, 1, 100, 100.5),
      step('c1#1', 7, 1, 104, 104.2),
      step('c1#1', 7, 1, 108, 108.3),
    ]);

    expect(intervals).toEqual([{ process: 'c1#1', fencingToken: 7, from: 100, to: 108.3 }]);
  });

  it('keeps actions of different processes, action numbers or tokens apart', () => {
    const intervals = actingIntervals([
      step('c1#1', 7, 1, 100),
      step('c1#1', 7, 2, 120),
      step('c1#2', 7, 1, 140),
      step('c2#1', 9, 1, 160),
    ]);

    expect(intervals).toHaveLength(4);
  });

  it('lets the simulator’s checker find two processes that acted at once, and the timeline mark the stretch', () => {
    const intervals = actingIntervals([
      step('c1#1', 7, 1, 100),
      step('c1#1', 7, 1, 110),
      step('c2#1', 9, 1, 105),
    ]);

    expect(checkSafety({ intervals } as never)).toHaveLength(1);
    expect(overlaps(intervals)).toEqual([[105, 105.01]]);
  });

  it('does not count one process’s own consecutive actions as an overlap', () => {
    const intervals = actingIntervals([step('c1#1', 7, 1, 100, 110), step('c1#1', 7, 2, 105)]);

    expect(overlaps(intervals)).toEqual([]);
  });
});

describe('LogReader', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-log-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the lines appended since its last poll, and a line only once it is complete', () => {
    const file = join(dir, 'actions.jsonl');
    writeFileSync(file, `${JSON.stringify(step('c1#1', 7, 1, 100))}\n{"k":"act","p":"c2`);
    const reader = new LogReader(file);

    expect(reader.poll()).toHaveLength(1);
    appendFileSync(file, `#1","tok":9,"a":1,"t0":200,"t1":200.1}\n`);
    expect(reader.poll()).toEqual([step('c2#1', 9, 1, 200, 200.1)]);
    expect(reader.records).toHaveLength(2);
  });

  it('skips and counts a line that a SIGKILL cut in the middle', () => {
    const file = join(dir, 'actions.jsonl');
    writeFileSync(file, `{"k":"act","p":"c1\n${JSON.stringify(step('c2#1', 9, 1, 200))}\n`);
    const reader = new LogReader(file);

    expect(reader.poll()).toHaveLength(1);
    expect(reader.torn).toBe(1);
  });
});
