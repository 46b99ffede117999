/**
 * What the runner reads from the gateway's access record of a request: the ids of the rules that
 * matched, and the log text that `log.match_regex` / `log_contains` run over.
 *
 * Ids: the `rules` list of the WAF's access-log annotation (`waf: {score, rules, matches, ...}`,
 * src/stages/waf/index.ts), and of any annotation whose key starts with `waf` or `crs`, so that a
 * second engine annotating under its own key is read the same way. Ids are strings ("sqli-100";
 * the CRS engine's numeric ids as "942100").
 *
 * Log text: the request's access-log line as the gateway writes it, then one line per match in
 * the style of ModSecurity's error log (`[id "942100"] ... Matched Data: X found within ARGS:q`),
 * so that the CRS suite's log regexes, written for that log, read the same facts here.
 */
import { LineFormatter } from '../../observe/access-log.js';
import type { AccessRecord } from '../../core/record.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const engineKey = (k: string): boolean => k === 'waf' || k.startsWith('waf') || k.startsWith('crs');

/** The rule ids that matched the request, in order, each once. */
export function ruleIdsOf(record: AccessRecord): string[] {
  const out: string[] = [];
  const ann = record.annotations;
  if (ann === null) return out;
  for (const [k, v] of Object.entries(ann)) {
    if (!engineKey(k) || !isObj(v) || !Array.isArray(v['rules'])) continue;
    for (const id of v['rules']) {
      const s = typeof id === 'number' ? String(id) : typeof id === 'string' ? id : null;
      if (s !== null && !out.includes(s)) out.push(s);
    }
  }
  return out;
}

/** The log text of a request: its access-log line, then a ModSecurity-style line per match. */
export function logTextOf(record: AccessRecord): string {
  let text = new LineFormatter().format(record);
  const ann = record.annotations;
  if (ann === null) return text;
  for (const [k, v] of Object.entries(ann)) {
    if (!engineKey(k) || !isObj(v)) continue;
    const matches = Array.isArray(v['matches']) ? v['matches'] : [];
    const described = new Set<string>();
    for (const m of matches) {
      if (!isObj(m)) continue;
      const id = String(m['rule'] ?? m['id'] ?? '');
      described.add(id);
      const msg = typeof m['msg'] === 'string' ? ` [msg "${m['msg']}"]` : '';
      text += `[id "${id}"]${msg} Matched Data: ${String(m['matched'] ?? '')} found within ${String(m['target'] ?? '')}: [unique_id "${record.id}"]\n`;
    }
    // ids beyond the matches listed (the annotation keeps a bounded number)
    if (Array.isArray(v['rules'])) for (const id of v['rules']) if (!described.has(String(id))) text += `[id "${String(id)}"] [unique_id "${record.id}"]\n`;
  }
  return text;
}
