/** The report as JSON: summary (counts, OWASP API Top 10 2023 status), findings, rules. */
import type { Report } from '../types.js';

export function renderJson(report: Report, opts: { version: string }): string {
  const { file, summary, findings, rules } = report;
  return `${JSON.stringify({ tool: 'portcullis audit-config', version: opts.version, file, summary, findings, rules }, null, 2)}\n`;
}
