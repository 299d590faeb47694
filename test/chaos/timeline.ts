// The timeline chart of a chaos segment: one row per candidate instance, a bar for each stretch in
// which it acted as leader (coloured by fencing token, so a new term shows as a new shade), the faults
// aimed at it drawn over its row, the faults aimed at Consul on a row of their own, and a tick at each
// calm's heal. Hand-written SVG, no dependency, like bench/lib/chart.ts.
import type { ActingInterval } from '../sim/checker';
import type { FaultKind, SegmentResult } from './segment';

const LEFT = 110;
const RIGHT = 20;
const TOP = 60;
const ROW = 34;
const PX_PER_SECOND = 8;
/** Actions of one term closer than this are drawn as one bar. */
const MERGE_GAP_MS = 150;

const FAULT_COLOURS: Record<FaultKind, string> = {
  sigkill: '#d62728',
  sigstop: '#9467bd',
  partition: '#ff7f0e',
  slow: '#bcbd22',
  'acl-revoke': '#8c564b',
  'key-rule-revoke': '#c49c94',
  'key-delete': '#e377c2',
  'session-destroy': '#17becf',
  'agent-restart': '#7f7f7f',
  'server-restart': '#7f7f7f',
  'raft-leader-kill': '#000000',
  'rolling-restart': '#2ca02c',
};

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Merges each process's actions of one token into stretches (gaps under MERGE_GAP_MS). */
export function leaderStretches(intervals: readonly ActingInterval[]): ActingInterval[] {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const open = new Map<
    string,
    { process: string; fencingToken: number; from: number; to: number }
  >();
  const done: ActingInterval[] = [];
  for (const interval of sorted) {
    const id = `${interval.process}|${interval.fencingToken}`;
    const current = open.get(id);
    if (current && interval.from - current.to <= MERGE_GAP_MS) {
      current.to = Math.max(current.to, interval.to);
      continue;
    }
    if (current) done.push(current);
    open.set(id, { ...interval });
  }
  return [...done, ...open.values()].sort((a, b) => a.from - b.from);
}

/** The stretches of true time in which two different processes acted. */
export function overlaps(intervals: readonly ActingInterval[]): Array<[number, number]> {
  const sorted = [...intervals].sort((a, b) => a.from - b.from);
  const found: Array<[number, number]> = [];
  for (let i = 0; i < sorted.length; i += 1) {
    for (let j = i + 1; j < sorted.length && sorted[j].from <= sorted[i].to; j += 1) {
      if (sorted[i].process !== sorted[j].process) {
        found.push([sorted[j].from, Math.min(sorted[i].to, sorted[j].to)]);
      }
    }
  }
  return found;
}

export function renderTimeline(result: SegmentResult, title: string): string {
  const origin = result.startedAt;
  const seconds = Math.max(1, (result.endedAt - origin) / 1_000);
  const width = Math.max(1_200, LEFT + RIGHT + Math.ceil(seconds * PX_PER_SECOND));
  const rows = [...result.instances, 'consul / operator'];
  const bottom = TOP + rows.length * ROW;
  const height = bottom + 70;
  const x = (t: number): number => LEFT + ((t - origin) / 1_000) * PX_PER_SECOND;
  const rowOf = (name: string): number => {
    const i = result.instances.indexOf(name.split('#')[0]);
    return i === -1 ? rows.length - 1 : i;
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="12" y="38" fill="#555">${escape(
      `${result.faults.length} faults, ${result.calms.length} calms (green ticks: every fault healed), ${result.violations.length} violations (red: two leaders acted at once); bars: leader actions, shade by fencing token; dashed: the agent restarted empty`,
    )}</text>`,
  ];
  for (let s = 0; s <= seconds; s += 10) {
    const tx = x(origin + s * 1_000).toFixed(1);
    parts.push(`<line x1="${tx}" y1="${TOP - 4}" x2="${tx}" y2="${bottom}" stroke="#eee"/>`);
    if (s % (seconds > 300 ? 60 : 10) === 0) {
      parts.push(
        `<text x="${tx}" y="${bottom + 16}" text-anchor="middle" fill="#444">${s} s</text>`,
      );
    }
  }
  rows.forEach((name, i) => {
    const y = TOP + i * ROW;
    parts.push(
      `<text x="${LEFT - 8}" y="${y + ROW / 2 + 4}" text-anchor="end">${escape(name)}</text>`,
    );
    parts.push(
      `<line x1="${LEFT}" y1="${y + ROW}" x2="${width - RIGHT}" y2="${y + ROW}" stroke="#ddd"/>`,
    );
  });
  for (const fault of result.faults) {
    const y = TOP + rowOf(fault.target) * ROW;
    const x1 = x(fault.at);
    const x2 = Math.max(x1 + 1.5, x(fault.healedAt ?? fault.at));
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${y + 2}" width="${(x2 - x1).toFixed(1)}" height="${ROW - 4}" fill="${FAULT_COLOURS[fault.kind]}" fill-opacity="0.35"><title>${escape(`${fault.kind} ${fault.target} ${fault.detail ?? ''}`)}</title></rect>`,
    );
  }
  for (const stretch of leaderStretches(result.intervals)) {
    const y = TOP + rowOf(stretch.process) * ROW;
    const x1 = x(stretch.from);
    const w = Math.max(1, x(stretch.to) - x1);
    const hue = (stretch.fencingToken * 47) % 360;
    parts.push(
      `<rect x="${x1.toFixed(1)}" y="${y + 10}" width="${w.toFixed(1)}" height="${ROW - 20}" fill="hsl(${hue},65%,40%)"><title>${escape(`${stretch.process} token ${stretch.fencingToken}`)}</title></rect>`,
    );
  }
  // Where two processes acted at once (a safety violation): a red band across every row.
  for (const [from, to] of overlaps(result.intervals)) {
    const x1 = x(from);
    parts.push(
      `<rect x="${(x1 - 1).toFixed(1)}" y="${TOP - 4}" width="${Math.max(3, x(to) - x1 + 2).toFixed(1)}" height="${bottom - TOP + 4}" fill="#ff0000" fill-opacity="0.5"><title>two leaders acted at once</title></rect>`,
    );
  }
  for (const calm of result.calms) {
    const tx = x(calm.healedAt).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${TOP - 8}" x2="${tx}" y2="${TOP}" stroke="#2ca02c" stroke-width="2"/>`,
    );
  }
  for (const wipe of result.wipes) {
    const tx = x(wipe).toFixed(1);
    parts.push(
      `<line x1="${tx}" y1="${TOP}" x2="${tx}" y2="${bottom}" stroke="#000" stroke-dasharray="3,3"/>`,
    );
  }
  const legend = (Object.keys(FAULT_COLOURS) as FaultKind[]).filter((kind) =>
    result.faults.some((fault) => fault.kind === kind),
  );
  legend.forEach((kind, i) => {
    const lx = LEFT + i * 130;
    parts.push(
      `<rect x="${lx}" y="${bottom + 30}" width="12" height="12" fill="${FAULT_COLOURS[kind]}" fill-opacity="0.5"/>`,
      `<text x="${lx + 16}" y="${bottom + 40}">${kind}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
