/** The report as Markdown: summary, OWASP API Top 10 status, then each finding with why and fix. */
import type { Report } from '../types.js';
import { countsLine, STATUS_TEXT } from './text.js';

/** A table cell: pipes escaped, one line. */
const cell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

export function renderMarkdown(report: Report): string {
  const out: string[] = [`# Posture audit of \`${report.file}\``, '', `**Findings:** ${countsLine(report.summary)}`, ''];
  out.push('## OWASP API Security Top 10 (2023)', '', '| item | title | status |', '|---|---|---|');
  for (const o of report.summary.owasp) {
    out.push(`| ${o.id} | ${cell(o.title)} | ${o.status === 'findings' ? `${o.findings} ${STATUS_TEXT.findings}` : STATUS_TEXT[o.status]} |`);
  }
  out.push('', '## Findings', '');
  if (report.findings.length === 0) out.push('None.');
  else {
    out.push('| severity | rule | where | OWASP | finding |', '|---|---|---|---|---|');
    for (const f of report.findings) {
      out.push(
        `| ${f.severity} | \`${f.id}\` | \`${cell(`${f.file}:${f.line}:${f.column}`)}\` (\`${cell(f.keyPath)}\`) | ${f.owasp.join(', ')} | ${cell(f.message)} |`,
      );
    }
    out.push('', '## Rules found', '');
    for (const r of report.rules.filter((r) => report.findings.some((f) => f.id === r.id))) {
      out.push(`### \`${r.id}\`: ${r.title}`, '', `- **Why it matters:** ${r.why}`, `- **Fix:** ${r.fix}`, `- **OWASP:** ${r.owasp.join(', ')}`, '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}
