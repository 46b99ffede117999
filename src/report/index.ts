/**
 * The compliance report over the access logs and the audit log (docs/report.md):
 * `buildReport(options)` streams the logs into a Report (bounded memory, see aggregate.ts), and
 * `renderReport(report, format)` writes it as JSON, Markdown or self-contained HTML.
 */
import type { Buffer } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AuditChainVerifier, checkpointedLines, sha256, verifyCheckpointsOf } from '../observe/audit.js';
import { ReportAggregator, sourceSummary } from './aggregate.js';
import { forEachLine, openLog } from './read.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { AuditChain, Report, SourceSummary } from './types.js';

export type { Report } from './types.js';
export { CONTROLS, CONTROL_NAMES, type ControlRow } from './controls.js';

/** A log given as a stream (the admin API, tests) instead of a path. */
export interface LogStream {
  readonly name: string;
  open(): Readable | AsyncIterable<Buffer | string>;
}

export interface ReportOptions {
  readonly from: Date;
  readonly to: Date;
  /** access-log files (`.gz` read through gunzip) or streams, read in order */
  readonly accessLogs: readonly (string | LogStream)[];
  /** the audit log file (null: no audit sections, the chain marked unchecked) */
  readonly auditLog?: string | null | undefined;
  /** keyed checkpoints to check the audit log against (`audit.checkpoints`) */
  readonly checkpoints?: { readonly path: string; readonly key: Buffer } | null | undefined;
  /** only this tenant's requests and events */
  readonly tenant?: string | undefined;
  /** route id → tenant that owns it (the config's `tenants[].routes`) */
  readonly routeTenants?: ReadonlyMap<string, string> | undefined;
  /** consumer id → tenant (the config's `consumers[].tenant`) */
  readonly consumerTenants?: ReadonlyMap<string, string> | undefined;
  /** the report's generation time (default: now) */
  readonly now?: Date | undefined;
}

export type ReportFormat = 'html' | 'json' | 'markdown';

const TIME_KEY = '"time":"';

/** A line as a JSON object with a string `time`, or null (counted as unreadable). */
function parseEntry(line: string, s: { unreadable: number }): Record<string, unknown> | null {
  try {
    const v = JSON.parse(line) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { time?: unknown }).time === 'string') return v as Record<string, unknown>;
  } catch {
    /* counted below */
  }
  s.unreadable++;
  return null;
}

/** Reads one access log into the aggregator; returns its summary. */
async function readAccessLog(agg: ReportAggregator, log: string | LogStream): Promise<SourceSummary> {
  const s = sourceSummary(typeof log === 'string' ? log : log.name);
  const stream = typeof log === 'string' ? openLog(log) : log.open();
  await forEachLine(
    stream,
    (line) => {
      // the time is read before parsing: lines outside the period cost a substring, not a JSON.parse
      const t = line.indexOf(TIME_KEY);
      if (t >= 0 && line.charCodeAt(t + 32) === 34 /* " closing a 24-character ISO time */ && !agg.inPeriod(line.slice(t + 8, t + 32))) return;
      const parsed = parseEntry(line, s);
      if (parsed !== null && agg.addAccess(parsed)) s.used++;
    },
    s,
  );
  return s;
}

/** Longest audit line read (an entry's data is bounded when written: 100 keys, strings of 2 KiB). */
const MAX_AUDIT_LINE_BYTES = 8 * 1024 * 1024;

/**
 * Reads the audit log once: its entries into the aggregator, every line through the chain check of
 * `portcullis audit verify` (AuditChainVerifier) and, with a key, the hashes of the lines the
 * checkpoints cover. Memory does not grow with the log.
 */
async function readAuditLog(
  agg: ReportAggregator,
  path: string,
  checkpoints: ReportOptions['checkpoints'],
): Promise<{ source: SourceSummary; chain: AuditChain }> {
  const s = sourceSummary(path);
  let cpText: string | null = null;
  if (checkpoints) {
    try {
      cpText = await readFile(checkpoints.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  const wanted = cpText !== null ? checkpointedLines(cpText) : new Set<number>();
  const heads = new Map<number, string>();
  const verifier = new AuditChainVerifier();
  await forEachLine(
    openLog(path),
    (line) => {
      // s.lines counts this line already (and every line, empty or oversized, in this mode)
      verifier.push(line);
      if (wanted.has(s.lines)) heads.set(s.lines, sha256(line));
      if (line === '') return;
      const x = parseEntry(line, s);
      if (x === null) return;
      const { time, event, data } = x;
      if (typeof event !== 'string' || data === null || typeof data !== 'object' || Array.isArray(data)) {
        s.unreadable++;
        return;
      }
      if (agg.addAudit({ time: time as string, event, data: data as Record<string, unknown> })) s.used++;
    },
    s,
    {
      keepEmpty: true,
      maxLineBytes: MAX_AUDIT_LINE_BYTES,
      // not an entry the gateway wrote: the chain reports the line as malformed
      onOversized: () => verifier.push(''),
    },
  );
  const r = verifier.result();
  let cp: AuditChain['checkpoints'] = null;
  if (checkpoints) {
    // a line the checkpoints cover but the log does not have: verifyCheckpointsOf reports truncation before asking
    const c = verifyCheckpointsOf({ lines: s.lines, head: (k) => heads.get(k) ?? '' }, cpText, checkpoints.key);
    cp =
      c.status === 'ok'
        ? { status: 'ok', message: `${c.checkpoints} checkpoints verified; the last (${c.lastTime}) covers ${c.covered} of ${c.lines} lines` }
        : { status: c.status, message: c.message };
  }
  const chain: AuditChain = r.ok
    ? { checked: true, ok: true, entries: r.entries, message: `hash chain intact (${r.entries} entries)`, checkpoints: cp }
    : { checked: true, ok: false, entries: r.entries, message: `${r.problem} at line ${r.line}: ${r.message}`, checkpoints: cp };
  return { source: s, chain };
}

/** Streams the logs into a report. Throws on an unreadable file (ENOENT, EACCES). */
export async function buildReport(o: ReportOptions): Promise<Report> {
  if (!(o.from.getTime() < o.to.getTime())) throw new RangeError('the period is empty: --from must be before --to');
  const agg = new ReportAggregator({ from: o.from, to: o.to, tenant: o.tenant, routeTenants: o.routeTenants, consumerTenants: o.consumerTenants });
  const accessLogs: SourceSummary[] = [];
  for (const log of o.accessLogs) accessLogs.push(await readAccessLog(agg, log));
  let auditLog: SourceSummary | null = null;
  let chain: AuditChain = { checked: false, ok: null, entries: null, message: 'no audit log given', checkpoints: null };
  if (o.auditLog) ({ source: auditLog, chain } = await readAuditLog(agg, o.auditLog, o.checkpoints));
  return agg.finish({ accessLogs, auditLog }, chain, o.now ?? new Date());
}

export function renderReport(r: Report, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (format === 'markdown') return renderMarkdown(r);
  return renderHtml(r);
}
