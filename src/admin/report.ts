/**
 * GET /admin/report?from=ISO&to=ISO[&tenant=NAME][&format=json|markdown|html]: the compliance
 * report of `portcullis report` (docs/report.md) over the logs this gateway writes: its access
 * log (when `access_log.path` is a file) and its audit log (`audit`, with the keyed checkpoints).
 *
 * A tenant token (`admin.tenant_tokens`) gets its own tenant's report only (the tenant is forced;
 * another tenant is 403, src/admin/http.ts authorizeTenantRead), without the gateway's file
 * paths and OS account (`tenantCopy`); the full token every tenant's, or the one `?tenant=` names. The logs are streamed (bounded memory, src/report/), but reading
 * them costs the gateway's event loop: one report is built at a time (503 with Retry-After
 * otherwise) and the period is at most MAX_REPORT_DAYS; longer or heavier reports are for the CLI.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Services } from '../core/services.js';
import type { CanonicalConfig } from '../core/config.js';
import { writeProblem } from '../core/problem.js';
import { buildReport, renderReport, type Report, type ReportFormat } from '../report/index.js';
import { parseTime, reportConfigSources } from '../report/config.js';
import { authorizeTenantRead, methodNotAllowed, splitUrl } from './http.js';

/** Longest period a report over the admin API covers. */
export const MAX_REPORT_DAYS = 366;
const DAY_MS = 24 * 3600 * 1000;

const TYPES: Readonly<Record<ReportFormat, string>> = {
  json: 'application/json',
  markdown: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
};

/** The HTML report fetches nothing (docs/report.md); the header says so as its meta tag does. */
const HTML_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function badRequest(res: ServerResponse, detail: string): true {
  writeProblem(res, 'PC_ERR_BAD_REQUEST', 400, randomUUID(), null, detail);
  return true;
}

/**
 * The report as a tenant token sees it: the gateway's own details (where its logs and config file
 * are, the OS account it runs as, why a reload was rejected) are not the tenant's, so file names
 * lose their directories and the account and rejection messages are left out. Pure.
 */
export function tenantCopy(r: Report): Report {
  const src = (s: Report['sources']['accessLogs'][number]) => ({ ...s, path: basename(s.path) });
  return {
    ...r,
    sources: { accessLogs: r.sources.accessLogs.map(src), auditLog: r.sources.auditLog && src(r.sources.auditLog) },
    configVersions: r.configVersions.map((v) => ({ ...v, file: v.file && basename(v.file), processUser: null, error: null })),
  };
}

/** GET /admin/report. */
export async function handleReportRequest(req: IncomingMessage, res: ServerResponse, services: Services, config: CanonicalConfig): Promise<boolean> {
  const { path, query } = splitUrl(req);
  if (path !== '/admin/report') return false;
  if (req.method !== 'GET') return methodNotAllowed(res, 'GET');
  const view = authorizeTenantRead(req, res, config, query);
  if (view === null) return true;
  const from = parseTime(query.get('from') ?? '');
  const to = parseTime(query.get('to') ?? '');
  if (from === null || to === null) return badRequest(res, 'from and to must be ISO 8601 dates or times (2026-10-01 or 2026-10-01T00:00:00Z).');
  if (from.getTime() >= to.getTime()) return badRequest(res, 'from must be before to.');
  if (to.getTime() - from.getTime() > MAX_REPORT_DAYS * DAY_MS)
    return badRequest(res, `The period is at most ${MAX_REPORT_DAYS} days here; use portcullis report for longer ones.`);
  const format = (query.get('format') ?? 'json') as ReportFormat;
  if (!(format in TYPES)) return badRequest(res, 'format must be json, markdown or html.');
  if (view.tenant !== null && view.tenant.length > 256) return badRequest(res, 'tenant is at most 256 characters.');

  // the access log as the gateway opens it (relative to its working directory); the audit log it writes
  const sources = reportConfigSources(config as unknown as Record<string, unknown>, process.cwd());
  const audit = services.auditFile ?? null;
  if (sources.accessLog === null && audit === null) {
    writeProblem(
      res,
      'PC_ERR_UNAVAILABLE',
      503,
      randomUUID(),
      null,
      'This gateway writes no log file to report on: access_log.path is stdout or stderr, and audit is off.',
    );
    return true;
  }
  const busy = services.keep('admin.report', () => ({ running: false }));
  if (busy.running) {
    writeProblem(res, 'PC_ERR_UNAVAILABLE', 503, randomUUID(), { 'retry-after': '5' }, 'One report is built at a time; try again shortly.');
    return true;
  }
  busy.running = true;
  let text: string;
  try {
    const report = await buildReport({
      from,
      to,
      // not written yet (no request since start): an empty log
      accessLogs: sources.accessLog !== null && existsSync(sources.accessLog) ? [sources.accessLog] : [],
      auditLog: audit !== null && existsSync(audit.path) ? audit.path : null,
      checkpoints: audit?.checkpoints ?? null,
      tenant: view.tenant ?? undefined,
      routeTenants: sources.routeTenants,
      consumerTenants: sources.consumerTenants,
      now: new Date(services.clock()),
    });
    text = renderReport(view.identity.kind === 'tenant' ? tenantCopy(report) : report, format);
  } finally {
    busy.running = false;
  }
  res.writeHead(200, {
    'content-type': TYPES[format],
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(format === 'html' ? { 'content-security-policy': HTML_CSP } : {}),
  });
  res.end(text);
  return true;
}

/** The admin handlers of the compliance report. */
export const REPORT_ADMIN_HANDLERS = [handleReportRequest] as const;
