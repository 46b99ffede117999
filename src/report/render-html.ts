/**
 * The report as one self-contained HTML page: inline CSS and inline SVG charts drawn here, no
 * script, no font, image, stylesheet or link that fetches anything. The Content-Security-Policy
 * meta tag forbids every fetch anyway (`default-src 'none'`), so the page opens the same offline
 * and cannot be made to call out by a value from the logs.
 */
import { controlsTable, legendTable, preamble, sections, type Table } from './sections.js';
import type { Count, Report, TimeBucket } from './types.js';

export const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text and attribute values escaped (log values come from clients). */
export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c] as string);

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.6rem;margin-bottom:.3rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
h3{font-size:.95rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;margin:.4rem 0 1rem;font-size:13px}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.pre p{margin:.1rem 0;color:#57606a}.summary{font-weight:600}
.ok{color:#1a7f37}.bad{color:#cf222e}.warn{color:#9a6700}
svg{display:block;margin:.4rem 0 1rem;max-width:100%}svg text{font:11px system-ui,sans-serif;fill:#57606a}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:0 2rem}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}}
`;

function table(t: Table): string {
  const num = (s: string): boolean => /^\d+$/.test(s);
  const caption = t.caption ? `<h3>${esc(t.caption)}</h3>` : '';
  const rows = t.rows.length === 0 ? [[`(none)`, ...t.head.slice(1).map(() => '')]] : t.rows;
  return (
    `${caption}<table><thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td${num(c) ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

/** Horizontal bars, one per key (at most 15). */
export function barChart(title: string, rows: readonly Count[]): string {
  const shown = rows.slice(0, 15);
  if (shown.length === 0) return '';
  const max = Math.max(1, ...shown.map((r) => r.count));
  const row = 20;
  const label = 230;
  const width = 640;
  const h = shown.length * row + 6;
  const bars = shown
    .map((r, i) => {
      const w = Math.max(1, Math.round(((width - label - 60) * r.count) / max));
      const y = i * row + 3;
      const key = r.key.length > 36 ? `${r.key.slice(0, 35)}…` : r.key;
      return `<text x="${label - 6}" y="${y + 13}" text-anchor="end">${esc(key)}</text><rect x="${label}" y="${y}" width="${w}" height="${row - 6}" fill="#0969da"/><text x="${label + w + 4}" y="${y + 13}">${r.count}</text>`;
    })
    .join('');
  return `<svg role="img" aria-label="${esc(title)}" width="${width}" height="${h}" viewBox="0 0 ${width} ${h}"><title>${esc(title)}</title>${bars}</svg>`;
}

/** Requests (grey) and refusals (red) per time bucket. */
export function timelineChart(buckets: readonly TimeBucket[], bucketMs: number): string {
  if (buckets.length === 0) return '';
  const width = 900;
  const height = 160;
  const top = 10;
  const bottom = 24;
  const max = Math.max(1, ...buckets.map((b) => b.requests));
  const bw = width / buckets.length;
  const scale = (v: number): number => ((height - top - bottom) * v) / max;
  let bars = '';
  buckets.forEach((b, i) => {
    const x = (i * bw).toFixed(1);
    const w = Math.max(0.5, bw - 1).toFixed(1);
    const hr = scale(b.requests);
    const hf = scale(b.refused);
    if (b.requests > 0) bars += `<rect x="${x}" y="${(height - bottom - hr).toFixed(1)}" width="${w}" height="${hr.toFixed(1)}" fill="#afb8c1"/>`;
    if (b.refused > 0) bars += `<rect x="${x}" y="${(height - bottom - hf).toFixed(1)}" width="${w}" height="${hf.toFixed(1)}" fill="#cf222e"/>`;
  });
  const first = buckets[0] as TimeBucket;
  const last = buckets[buckets.length - 1] as TimeBucket;
  const axis =
    `<text x="0" y="${height - 6}">${esc(first.start)}</text>` +
    `<text x="${width}" y="${height - 6}" text-anchor="end">${esc(last.start)}</text>` +
    `<text x="${width}" y="${top}" text-anchor="end">max ${max} per ${bucketMs / 60000} min</text>`;
  return `<svg role="img" aria-label="requests and refusals over time" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}"><title>Requests (grey) and refusals (red) per ${bucketMs / 60000} minutes</title>${bars}${axis}</svg>`;
}

/** Charts shown above a section's tables. */
function charts(r: Report, id: string): string {
  switch (id) {
    case 'traffic':
      return timelineChart(r.traffic.timeline, r.traffic.bucketMs);
    case 'authFailures':
      return barChart('Authentication failures by code', r.authFailures.byCode);
    case 'refusals':
      return `<div class="grid">${barChart('Refusals by stage', r.refusals.byStage)}${barChart('Refusals by code', r.refusals.byCode)}</div>`;
    case 'waf':
      return barChart('WAF blocks by category', r.waf.byCategory);
    default:
      return '';
  }
}

export function renderHtml(r: Report): string {
  const title = `Portcullis compliance report${r.tenant !== null ? `: tenant ${r.tenant}` : ''}`;
  const chainClass = !r.auditChain.checked ? 'warn' : r.auditChain.ok ? 'ok' : 'bad';
  const body = sections(r)
    .map(
      (s) =>
        `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2><p class="summary${s.id === 'auditChain' ? ` ${chainClass}` : ''}">${esc(s.summary)}</p>` +
        charts(r, s.id) +
        s.tables.map(table).join('') +
        '</section>',
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<div class="pre">${preamble(r)
    .map((l) => `<p>${esc(l)}</p>`)
    .join('')}</div>
<section id="controls"><h2>Controls evidenced</h2>${table(controlsTable(r))}${table(legendTable(r))}</section>
${body}
</body>
</html>
`;
}
