import type { Distribution } from './stats';

export interface ChartRow {
  readonly label: string;
  readonly distribution: Distribution;
  /** `ours` rows are drawn blue, `consul lock` rows orange. */
  readonly side: 'ours' | 'consul lock';
}

const WIDTH = 980;
const LEFT = 250;
const RIGHT = 30;
const TOP = 56;
const ROW = 30;
const MIN_MS = 1;
const MAX_MS = 100_000;

/**
 * A strip chart of latency distributions on one logarithmic time axis (1 ms … 100 s), so that
 * millisecond handoffs and multi-second failovers share a chart: one dot per sample, a bar at
 * p50 and ticks at p95 and p99. Hand-written SVG, no dependency.
 */
export function renderChart(title: string, subtitle: string, rows: readonly ChartRow[]): string {
  const height = TOP + rows.length * ROW + 50;
  const x = (ms: number): number => {
    const clamped = Math.min(MAX_MS, Math.max(MIN_MS, ms));
    return (
      LEFT +
      ((Math.log10(clamped) - Math.log10(MIN_MS)) / (Math.log10(MAX_MS) - Math.log10(MIN_MS))) *
        (WIDTH - LEFT - RIGHT)
    );
  };
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="bold">${escape(title)}</text>`,
    `<text x="12" y="38" fill="#555">${escape(subtitle)}</text>`,
  ];
  const bottom = TOP + rows.length * ROW;
  for (const tick of [1, 3, 10, 30, 100, 300, 1_000, 3_000, 10_000, 30_000, 100_000]) {
    const tx = x(tick).toFixed(1);
    parts.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${bottom}" stroke="#e3e3e3"/>`);
    parts.push(
      `<text x="${tx}" y="${bottom + 16}" text-anchor="middle" fill="#444">${tick >= 1000 ? `${tick / 1000} s` : `${tick} ms`}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const cy = TOP + i * ROW + ROW / 2;
    const colour = row.side === 'ours' ? '#1f6fc5' : '#e07b00';
    const d = row.distribution;
    parts.push(
      `<text x="${LEFT - 10}" y="${cy + 4}" text-anchor="end">${escape(row.label)} (n=${d.n})</text>`,
    );
    d.samples.forEach((value, j) => {
      const jitter = ((j * 7919) % 13) - 6;
      parts.push(
        `<circle cx="${x(value).toFixed(1)}" cy="${(cy + jitter * 0.9).toFixed(1)}" r="2.2" fill="${colour}" fill-opacity="0.45"/>`,
      );
    });
    if (d.n > 0) {
      parts.push(
        `<line x1="${x(d.p50).toFixed(1)}" y1="${cy - 11}" x2="${x(d.p50).toFixed(1)}" y2="${cy + 11}" stroke="${colour}" stroke-width="3"/>`,
      );
      for (const p of [d.p95, d.p99]) {
        parts.push(
          `<line x1="${x(p).toFixed(1)}" y1="${cy - 7}" x2="${x(p).toFixed(1)}" y2="${cy + 7}" stroke="${colour}" stroke-width="1.5"/>`,
        );
      }
    }
  });
  parts.push(
    `<text x="${LEFT}" y="${bottom + 38}" fill="#555">blue: nestjs-consul-leader · orange: consul lock · thick bar p50, thin ticks p95 and p99 · log scale</text>`,
    `</svg>`,
  );
  return `${parts.join('\n')}\n`;
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
