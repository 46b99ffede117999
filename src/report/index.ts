/**
 * The compliance report over the access logs and the audit log (docs/report.md):
 * `buildReport(options)` streams the logs into a Report (bounded memory, see aggregate.ts), and
 * `renderReport(report, format)` writes it as JSON, Markdown or self-contained HTML.
 */
import type { Buffer } from 'node:buffer';
import { stat, readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { verifyAuditText, verifyCheckpoints } from '../observe/audit.js';
import { ReportAggregator, sourceSummary } from './aggregate.js';
import { forEachLine, openLog } from './read.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { AuditChain, Report, SourceSummary } from './types.js';

export type { Report } from './types.js';
export { CONTROLS, CONTROL_NAMES, type ControlRow } from './controls.js';

/** The largest audit log whose chain is verified (it is read whole, as `portcullis audit verify` does). */
export const AUDIT_VERIFY_MAX_BYTES = 64 * 1024 * 1024;

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

async function readAuditLog(agg: ReportAggregator, path: string): Promise<SourceSummary> {
  const s = sourceSummary(path);
  await forEachLine(
    openLog(path),
    (line) => {
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
  );
  return s;
}

/** The chain's verdict, with the code `portcullis audit verify` uses. */
async function checkChain(path: string, checkpoints: ReportOptions['checkpoints']): Promise<AuditChain> {
  const size = (await stat(path)).size;
  if (size > AUDIT_VERIFY_MAX_BYTES) {
    return {
      checked: false,
      ok: null,
      entries: null,
      message: `not verified here: the log is larger than ${AUDIT_VERIFY_MAX_BYTES / 1048576} MiB; run portcullis audit verify`,
      checkpoints: null,
    };
  }
  const text = await readFile(path, 'utf8');
  const r = verifyAuditText(text);
  let cp: AuditChain['checkpoints'] = null;
  if (checkpoints) {
    let cpText: string | null = null;
    try {
      cpText = await readFile(checkpoints.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const c = verifyCheckpoints(text, cpText, checkpoints.key);
    cp =
      c.status === 'ok'
        ? { status: 'ok', message: `${c.checkpoints} checkpoints verified; the last (${c.lastTime}) covers ${c.covered} of ${c.lines} lines` }
        : { status: c.status, message: c.message };
  }
  return r.ok
    ? { checked: true, ok: true, entries: r.entries, message: `hash chain intact (${r.entries} entries)`, checkpoints: cp }
    : { checked: true, ok: false, entries: r.entries, message: `${r.problem} at line ${r.line}: ${r.message}`, checkpoints: cp };
}

/** Streams the logs into a report. Throws on an unreadable file (ENOENT, EACCES). */
export async function buildReport(o: ReportOptions): Promise<Report> {
  if (!(o.from.getTime() < o.to.getTime())) throw new RangeError('the period is empty: --from must be before --to');
  const agg = new ReportAggregator({ from: o.from, to: o.to, tenant: o.tenant, routeTenants: o.routeTenants, consumerTenants: o.consumerTenants });
  const accessLogs: SourceSummary[] = [];
  for (const log of o.accessLogs) accessLogs.push(await readAccessLog(agg, log));
  let auditLog: SourceSummary | null = null;
  let chain: AuditChain = { checked: false, ok: null, entries: null, message: 'no audit log given', checkpoints: null };
  if (o.auditLog) {
    chain = await checkChain(o.auditLog, o.checkpoints);
    auditLog = await readAuditLog(agg, o.auditLog);
  }
  return agg.finish({ accessLogs, auditLog }, chain, o.now ?? new Date());
}

export function renderReport(r: Report, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(r, null, 2)}\n`;
  if (format === 'markdown') return renderMarkdown(r);
  return renderHtml(r);
}
