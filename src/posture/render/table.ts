/** The report as a terminal table: findings by severity, then the summary and the OWASP API Top 10 status. */
import type { Report } from '../types.js';
import { countsLine, STATUS_TEXT } from './text.js';

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function renderTable(report: Report): string {
  const out: string[] = [];
  if (report.findings.length === 0) out.push(`${report.file}: no findings`);
  else {
    out.push(
      table(
        ['SEVERITY', 'RULE', 'WHERE', 'OWASP', 'FINDING'],
        report.findings.map((f) => [f.severity, f.id, `${f.file}:${f.line}:${f.column}`, f.owasp.map((o) => o.replace(':2023', '')).join(','), f.message]),
      ),
    );
  }
  out.push('', `Findings: ${countsLine(report.summary)}`, '', 'OWASP API Security Top 10 (2023):');
  out.push(
    table(
      ['ITEM', 'STATUS', 'TITLE'],
      report.summary.owasp.map((o) => [o.id, o.status === 'findings' ? `${o.findings} ${STATUS_TEXT.findings}` : STATUS_TEXT[o.status], o.title]),
    ),
  );
  if (report.findings.length > 0) out.push('', 'Why each matters and how to fix it: --format markdown, or docs/posture.md.');
  return `${out.join('\n')}\n`;
}
