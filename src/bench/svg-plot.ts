/**
 * A stacked bar chart as a standalone SVG file, written by hand (no plotting
 * dependency): one bar per measured variant, one coloured segment per phase,
 * the way the thesis draws Figure 4.1. A bar with one segment is a plain bar.
 */
export interface StackedBar {
  label: string;
  segments: { name: string; value: number }[];
}

export interface StackedBarPlot {
  title: string;
  /** Axis label, e.g. `time (ms)`. */
  unit: string;
  bars: StackedBar[];
}

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A round axis maximum and step (1, 2 or 5 times a power of ten). */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  return { top: Math.ceil(max / step) * step, step };
}

export function stackedBarSvg(plot: StackedBarPlot): string {
  const names: string[] = [];
  for (const b of plot.bars) for (const s of b.segments) if (!names.includes(s.name)) names.push(s.name);
  const color = (name: string): string => COLORS[names.indexOf(name) % COLORS.length]!;
  const totals = plot.bars.map((b) => b.segments.reduce((a, s) => a + Math.max(0, s.value), 0));
  const { top, step } = niceScale(Math.max(0, ...totals));
  const barW = 46;
  const gap = 34;
  const left = 70;
  const plotTop = 40;
  const plotH = 300;
  const plotW = Math.max(1, plot.bars.length) * (barW + gap) + gap;
  const legendX = left + plotW + 20;
  const width = legendX + 190;
  const labelRows = 4;
  const height = plotTop + plotH + 16 * labelRows + 20;
  const y = (v: number): number => plotTop + plotH - (v / top) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="14" font-weight="bold">${escapeXml(plot.title)}</text>`,
    `<text transform="translate(16 ${plotTop + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(plot.unit)}</text>`,
  ];
  for (let v = 0; v <= top + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#dddddd"/>`,
      `<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${+v.toPrecision(6)}</text>`,
    );
  }
  out.push(
    `<line x1="${left}" x2="${left}" y1="${plotTop}" y2="${plotTop + plotH}" stroke="#333333"/>`,
    `<line x1="${left}" x2="${left + plotW}" y1="${plotTop + plotH}" y2="${plotTop + plotH}" stroke="#333333"/>`,
  );
  plot.bars.forEach((b, i) => {
    const x = left + gap + i * (barW + gap);
    let acc = 0;
    for (const s of b.segments) {
      if (!(s.value > 0)) continue;
      const y0 = y(acc + s.value);
      const h = y(acc) - y0;
      out.push(
        `<rect x="${x}" y="${y0.toFixed(1)}" width="${barW}" height="${h.toFixed(1)}" fill="${color(s.name)}"><title>${escapeXml(`${b.label}: ${s.name} ${+s.value.toPrecision(6)}`)}</title></rect>`,
      );
      acc += s.value;
    }
    out.push(
      `<text x="${x + barW / 2}" y="${(y(acc) - 4).toFixed(1)}" text-anchor="middle">${+acc.toPrecision(4)}</text>`,
    );
    // Long labels wrap on spaces so neighbouring bars stay readable.
    const words = b.label.split(' ');
    const lines: string[] = [];
    for (const w of words) {
      const last = lines[lines.length - 1];
      if (last !== undefined && (last + ' ' + w).length <= 12) lines[lines.length - 1] = `${last} ${w}`;
      else lines.push(w);
    }
    lines.slice(0, labelRows).forEach((l, k) => {
      out.push(
        `<text x="${x + barW / 2}" y="${plotTop + plotH + 14 + 14 * k}" text-anchor="middle">${escapeXml(l)}</text>`,
      );
    });
  });
  names.forEach((n, i) => {
    const yy = plotTop + i * 18;
    out.push(
      `<rect x="${legendX}" y="${yy}" width="12" height="12" fill="${color(n)}"/>`,
      `<text x="${legendX + 18}" y="${yy + 10}">${escapeXml(n)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
