import type { ElectionStatus } from './election-status';

/** The human form of a status: a block of fields, then the candidates as a table. */
export function formatStatus(status: ElectionStatus, now: Date): string {
  const since = status.leader ? `${status.leader.since} (${age(status.leader.since, now)})` : '—';
  const session = status.session
    ? [
        status.session.id,
        status.session.node ? `on node ${status.session.node}` : null,
        status.session.ttl ? `TTL ${status.session.ttl}` : null,
      ]
        .filter(Boolean)
        .join(', ')
    : '—';
  const fields: Array<[string, string]> = [
    ['Key', status.key],
    ['State', describeState(status)],
    ['Leader', status.leader?.instanceId ?? '—'],
    ['Since', since],
    ['Fencing token', status.fencingToken === null ? '—' : String(status.fencingToken)],
    ['Session', session],
    [
      'Lock-delay',
      status.session?.lockDelayMs != null
        ? `${status.session.lockDelayMs} ms if the session is invalidated (none on a release)`
        : '—',
    ],
    ['Lease', status.leaseMs === null ? '—' : `${status.leaseMs} ms`],
    ['Successors', status.successors.length ? status.successors.join(', ') : '—'],
  ];
  if (status.releasedAt) fields.push(['Released at', status.releasedAt]);
  if (status.handedBackAt) fields.push(['Handed back at', status.handedBackAt]);
  const width = Math.max(...fields.map(([name]) => name.length));
  const lines = fields.map(([name, value]) => `${name.padEnd(width)}  ${value}`);
  lines.push('', `Candidates (service ${status.serviceName}):`);
  if (status.candidates.length === 0) lines.push('  none registered');
  else
    lines.push(
      ...table(
        ['', 'INSTANCE', 'NODE', 'CHECK', 'SERF', 'SERVICE ID'],
        status.candidates.map((candidate) => [
          candidate.leading ? '*' : '',
          candidate.instanceId,
          candidate.node ?? '—',
          candidate.check,
          candidate.serfHealth,
          candidate.serviceId,
        ]),
      ).map((line) => `  ${line}`),
    );
  return lines.join('\n');
}

function describeState(status: ElectionStatus): string {
  switch (status.state) {
    case 'held':
      return 'held';
    case 'released':
      return 'released (the next leader may act at once)';
    case 'handed-back':
      return 'handed back (the next leader waits out the lease)';
    case 'vacant':
      return 'vacant: the holder vanished (the next leader waits out the lease and the lock-delay)';
    case 'absent':
      return 'no key (nobody has led yet, or it was deleted)';
  }
}

function age(iso: string, now: Date): string {
  const seconds = Math.round((now.getTime() - new Date(iso).getTime()) / 1_000);
  if (!Number.isFinite(seconds)) return 'unknown';
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3_600)} h ago`;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((cell, i) =>
    Math.max(cell.length, ...rows.map((row) => row[i].length)),
  );
  return [header, ...rows].map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  );
}
