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
import { parseTime, reportConfigSources, type ReportConfigSources } from '../report/config.js';

export { parseTime };

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

interface FromConfig extends ReportConfigSources {
  auditLog: string | null;
  checkpoints: ReportOptions['checkpoints'];
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
  const audit = (c['audit'] ?? {}) as { enabled?: boolean; path?: string };
  const auditPath = audit.enabled === true ? resolve(loaded.baseDir, audit.path ?? 'portcullis-audit.jsonl') : null;
  const cp = auditPath !== null ? checkpointSettings(audit, auditPath, loaded.baseDir) : null;
  return { ...reportConfigSources(c, loaded.baseDir), auditLog: auditPath, checkpoints: cp && { path: cp.path, key: cp.key } };
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
