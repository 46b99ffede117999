/** The report as Markdown (GitHub-flavoured tables). */
import { controlsTable, legendTable, preamble, sections, type Table } from './sections.js';
import type { Report } from './types.js';

/** A cell's text: no line breaks, pipes and Markdown punctuation escaped (log values come from clients). */
export function mdCell(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ').replace(/[\\|`*[\]<>]/g, (c) => `\\${c}`);
}

function table(t: Table): string[] {
  const out: string[] = [];
  if (t.caption) out.push(`**${mdCell(t.caption)}**`, '');
  out.push(`| ${t.head.map(mdCell).join(' | ')} |`, `|${t.head.map(() => ' --- ').join('|')}|`);
  if (t.rows.length === 0) out.push(`| ${t.head.map((_, i) => (i === 0 ? '(none)' : '')).join(' | ')} |`);
  for (const row of t.rows) out.push(`| ${row.map(mdCell).join(' | ')} |`);
  out.push('');
  return out;
}

export function renderMarkdown(r: Report): string {
  const out = [`# Portcullis compliance report${r.tenant !== null ? `: tenant ${mdCell(r.tenant)}` : ''}`, ''];
  for (const l of preamble(r)) out.push(`${mdCell(l)}  `);
  out.push('', '## Controls evidenced', '', ...table(controlsTable(r)), ...table(legendTable(r)));
  for (const s of sections(r)) {
    out.push(`## ${mdCell(s.title)}`, '', mdCell(s.summary), '');
    for (const t of s.tables) out.push(...table(t));
  }
  return `${out.join('\n').trimEnd()}\n`;
}
