// A hand-written SVG line chart (no dependency): time per method against N, both
// axes logarithmic, one decade per grid line.
const W = 760;
const H = 440;
const M = { left: 86, right: 230, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#17becf', '#ff7f0e', '#d62728', '#2ca02c', '#9467bd', '#8c564b'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmtMs = (ms) => (ms >= 1000 ? `${ms / 1000} s` : ms >= 1 ? `${ms} ms` : `${ms * 1000} µs`);

/** series: [{ label, points: [{ n, ms }] }]; returns the SVG text. */
export function timeChart(series, title) {
  const all = series.flatMap((s) => s.points);
  const xMin = Math.floor(Math.log10(Math.min(...all.map((p) => p.n))));
  const xMax = Math.max(xMin + 1, Math.ceil(Math.log10(Math.max(...all.map((p) => p.n)))));
  const yMin = Math.floor(Math.log10(Math.min(...all.map((p) => p.ms))));
  const yMax = Math.max(yMin + 1, Math.ceil(Math.log10(Math.max(...all.map((p) => p.ms)))));
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (n) => M.left + ((Math.log10(n) - xMin) / (xMax - xMin)) * plotW;
  const y = (ms) => M.top + plotH - ((Math.log10(ms) - yMin) / (yMax - yMin)) * plotH;

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
  ];
  for (let d = xMin; d <= xMax; d++) {
    const px = x(10 ** d).toFixed(1);
    out.push(`<line x1="${px}" y1="${M.top}" x2="${px}" y2="${M.top + plotH}" stroke="#ddd"/>`);
    out.push(
      `<text x="${px}" y="${M.top + plotH + 18}" text-anchor="middle">${(10 ** d).toLocaleString('en-US')}</text>`,
    );
  }
  for (let d = yMin; d <= yMax; d++) {
    const py = y(10 ** d).toFixed(1);
    out.push(`<line x1="${M.left}" y1="${py}" x2="${M.left + plotW}" y2="${py}" stroke="#ddd"/>`);
    out.push(
      `<text x="${M.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${esc(fmtMs(10 ** d))}</text>`,
    );
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">profiles (N, log scale)</text>`,
  );
  out.push(
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">time (log scale)</text>`,
  );

  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = [...s.points].sort((a, b) => a.n - b.n);
    if (pts.length > 1) {
      const d = pts
        .map((p, k) => `${k === 0 ? 'M' : 'L'}${x(p.n).toFixed(1)},${y(p.ms).toFixed(1)}`)
        .join(' ');
      out.push(
        `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      );
    }
    for (const p of pts) {
      out.push(
        `<circle cx="${x(p.n).toFixed(1)}" cy="${y(p.ms).toFixed(1)}" r="3.5" fill="${color}"><title>${esc(`${s.label}, N=${p.n}: ${p.ms.toFixed(1)} ms`)}</title></circle>`,
      );
    }
    const ly = M.top + 10 + i * 22;
    const lx = M.left + plotW + 16;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 24}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(`<text x="${lx + 30}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
