/**
 * `portcullis report`: the compliance report over the access logs and the audit log
 * (docs/report.md).
 *
 *   portcullis report --from ISO --to ISO -c portcullis.yaml [--tenant NAME] [--format html|json|markdown] [--output FILE]
 *   portcullis report --from ISO --to ISO --access-log FILE [--access-log FILE ...] [--audit-log FILE] ...
 *
 * Exit codes: 0 written; 1 a log could not be read; 2 usage error or bad config.
 */
import process from 'node:process';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { buildReport, renderReport, type ReportFormat, type ReportOptions } from '../report/index.js';
import { attempt } from './attempt.js';

export const USAGE = `usage: portcullis report --from ISO --to ISO [-c CONFIG] [--access-log FILE ...] [--audit-log FILE]
                         [--tenant NAME] [--format html|json|markdown] [--output FILE]

A compliance report for the period [--from, --to): authentication failures, refusals by stage and
code, WAF blocks by category, bans placed and lifted, admin actions, configuration versions in
force, the audit chain's verification, per tenant; with the controls each section evidences
(SOC 2, PCI DSS v4.0, ISO/IEC 27001:2022). The logs are streamed (.gz files are gunzipped).

  --from, --to       ISO 8601 times (2026-10-01 or 2026-10-01T00:00:00Z); --to is excluded
  -c, --config FILE  take the access log, the audit log (and its checkpoint key) and the tenants'
                     routes and consumers from this config
  --access-log FILE  an access log (repeat for rotated files); overrides the config's
  --audit-log FILE   the audit log; overrides the config's
  --tenant NAME      only this tenant's requests, bans and admin actions
  --format FORMAT    html (default), json or markdown
  --output FILE      write there instead of standard output

Exit codes: 0 written; 1 a log could not be read; 2 usage error or bad config.`;

type Out = (s: string) => void;

const FORMATS: readonly ReportFormat[] = ['html', 'json', 'markdown'];

/** An ISO 8601 date or date-time; a date alone is midnight UTC. */
export function parseTime(s: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(s)) return null;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00Z` : s);
  return Number.isNaN(d.getTime()) ? null : d;
}

interface FromConfig {
  accessLog: string | null;
  auditLog: string | null;
  checkpoints: ReportOptions['checkpoints'];
  routeTenants: Map<string, string>;
  consumerTenants: Map<string, string>;
}

async function fromConfig(file: string): Promise<FromConfig | string> {
  const { loadConfigFile } = await import('../config/load.js');
  const { STAGES } = await import('../stages/index.js');
  const { ConfigError, ConfigErrors } = await import('../config/errors.js');
  const { checkpointSettings } = await import('../observe/audit.js');
  const { resolve } = await import('node:path');
  let loaded: ReturnType<typeof loadConfigFile>;
  try {
    loaded = loadConfigFile(file, STAGES);
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message).join('\n');
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  const c = loaded.config as unknown as Record<string, unknown>;
  const access = c['access_log'] as { enabled?: boolean; path?: string } | undefined;
  const audit = (c['audit'] ?? {}) as { enabled?: boolean; path?: string };
  const auditPath = audit.enabled === true ? resolve(loaded.baseDir, audit.path ?? 'portcullis-audit.jsonl') : null;
  const cp = auditPath !== null ? checkpointSettings(audit, auditPath, loaded.baseDir) : null;
  const routeTenants = new Map<string, string>();
  for (const t of (c['tenants'] ?? []) as { id?: unknown; routes?: unknown }[])
    if (typeof t.id === 'string' && Array.isArray(t.routes)) for (const r of t.routes) if (typeof r === 'string') routeTenants.set(r, t.id);
  const consumerTenants = new Map<string, string>();
  for (const x of (c['consumers'] ?? []) as { id?: unknown; tenant?: unknown }[])
    if (typeof x.id === 'string' && typeof x.tenant === 'string') consumerTenants.set(x.id, x.tenant);
  return {
    // stdout and stderr are not files to read back
    accessLog:
      access && access.enabled !== false && typeof access.path === 'string' && access.path !== 'stdout' && access.path !== 'stderr'
        ? resolve(loaded.baseDir, access.path)
        : null,
    auditLog: auditPath,
    checkpoints: cp && { path: cp.path, key: cp.key },
    routeTenants,
    consumerTenants,
  };
}

export async function reportCommand(
  argv: readonly string[],
  out: Out = (s) => process.stdout.write(s),
  err: Out = (s) => process.stderr.write(`${s}\n`),
): Promise<number> {
  const parsed = attempt(() =>
    parseArgs({
      args: [...argv],
      strict: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        config: { type: 'string', short: 'c' },
        'access-log': { type: 'string', multiple: true },
        'audit-log': { type: 'string' },
        tenant: { type: 'string' },
        format: { type: 'string', default: 'html' },
        output: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  const usage = (msg: string): number => {
    err(`error: ${msg}\n\n${USAGE}`);
    return 2;
  };
  if (parsed instanceof Error) return usage(parsed.message);
  const v = parsed.values;
  if (v.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  if (v.from === undefined || v.to === undefined) return usage('--from and --to are required');
  const from = parseTime(v.from);
  const to = parseTime(v.to);
  if (from === null || to === null) return usage('--from and --to must be ISO 8601 dates or times');
  if (from.getTime() >= to.getTime()) return usage('--from must be before --to');
  const format = v.format as ReportFormat;
  if (!FORMATS.includes(format)) return usage(`--format must be one of ${FORMATS.join(', ')}`);
  if (v.tenant !== undefined && (v.tenant === '' || v.tenant.length > 256)) return usage('--tenant must be 1 to 256 characters');
  let cfg: FromConfig | null = null;
  if (v.config !== undefined) {
    const c = await fromConfig(v.config);
    if (typeof c === 'string') {
      err(c);
      return 2;
    }
    cfg = c;
  }
  const accessLogs = v['access-log'] ?? (cfg?.accessLog ? [cfg.accessLog] : []);
  const auditLog = v['audit-log'] ?? cfg?.auditLog ?? null;
  if (accessLogs.length === 0 && auditLog === null) return usage('no log to read: give -c CONFIG, --access-log FILE or --audit-log FILE');
  let text: string;
  try {
    const report = await buildReport({
      from,
      to,
      accessLogs,
      auditLog,
      checkpoints: v['audit-log'] === undefined ? cfg?.checkpoints : null,
      tenant: v.tenant,
      routeTenants: cfg?.routeTenants,
      consumerTenants: cfg?.consumerTenants,
    });
    text = renderReport(report, format);
  } catch (e) {
    const x = e as NodeJS.ErrnoException;
    if (typeof x.code === 'string' && typeof x.path === 'string') {
      err(`cannot read ${x.path}: ${x.code}`);
      return 1;
    }
    if (x.code === 'Z_DATA_ERROR' || x.code === 'Z_BUF_ERROR') {
      err(`cannot read a gzip log: ${x.message}`);
      return 1;
    }
    throw e;
  }
  if (v.output !== undefined) {
    try {
      await writeFile(v.output, text, { mode: 0o600 });
    } catch (e) {
      err(`cannot write ${v.output}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      return 1;
    }
    err(`report written to ${v.output}`);
  } else out(text);
  return 0;
}
