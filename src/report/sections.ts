/**
 * The report as sections of tables: what the Markdown and HTML renderers both write, so that the
 * two say the same thing. Cells are plain text; each renderer escapes them for its format.
 */
import { CONTROL_NAMES } from './controls.js';
import type { Count, Report } from './types.js';

export interface Table {
  readonly caption?: string;
  readonly head: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export interface Section {
  /** the report key it renders (ids in the HTML, the control table's `section`) */
  readonly id: string;
  readonly title: string;
  /** one-line summary with the totals */
  readonly summary: string;
  readonly tables: readonly Table[];
}

const n = (x: number): string => String(x);

function counts(caption: string, name: string, rows: readonly Count[]): Table {
  return { caption, head: [name, 'count'], rows: rows.length === 0 ? [['(none)', '0']] : rows.map((c) => [c.key, n(c.count)]) };
}

export function controlsTable(r: Report): Table {
  return {
    head: ['section', 'SOC 2', 'PCI DSS v4.0', 'ISO/IEC 27001:2022', 'evidence'],
    rows: r.controls.map((c) => [c.title, c.soc2.join(', '), c.pciDss.join(', '), c.iso27001.join(', '), c.evidence]),
  };
}

export function legendTable(r: Report): Table {
  const used = new Set(r.controls.flatMap((c) => [...c.soc2, ...c.pciDss, ...c.iso27001]));
  return {
    head: ['control', 'what it requires'],
    rows: Object.keys(CONTROL_NAMES)
      .filter((k) => used.has(k))
      .map((k) => [k, CONTROL_NAMES[k] as string]),
  };
}

export function sections(r: Report): Section[] {
  const t = r.traffic;
  const chain = r.auditChain;
  return [
    {
      id: 'traffic',
      title: 'Traffic',
      summary: `${t.requests} requests: ${t.allowed} allowed, ${t.refused} refused, ${t.responded} answered by a stage.`,
      tables: [counts('Responses by status class', 'status', t.byStatusClass)],
    },
    {
      id: 'authFailures',
      title: 'Authentication failures',
      summary: `${r.authFailures.total} authentication failures.`,
      tables: [
        counts('By code', 'code', r.authFailures.byCode),
        counts('By route', 'route', r.authFailures.byRoute),
        counts('By tenant', 'tenant', r.authFailures.byTenant),
      ],
    },
    {
      id: 'refusals',
      title: 'Refusals by stage and code',
      summary: `${r.refusals.total} refused requests.`,
      tables: [
        counts('By stage', 'stage', r.refusals.byStage),
        counts('By code', 'code', r.refusals.byCode),
        {
          caption: 'By stage and code',
          head: ['stage', 'code', 'count'],
          rows: r.refusals.byStageAndCode.length === 0 ? [['(none)', '', '0']] : r.refusals.byStageAndCode.map((x) => [x.stage, x.code, n(x.count)]),
        },
      ],
    },
    {
      id: 'waf',
      title: 'WAF blocks by category',
      summary: `${r.waf.total} requests blocked by the WAF; ${r.waf.monitored} more would have been blocked (monitor mode).`,
      tables: [counts('By attack category', 'category', r.waf.byCategory), counts('By rule', 'rule', r.waf.byRule)],
    },
    {
      id: 'topRefusedClients',
      title: 'Clients with the most refusals',
      summary: `${r.topRefusedClients.length === 0 ? 'No' : 'The'} clients whose requests were refused most.`,
      tables: [counts('Refused requests by client', 'client', r.topRefusedClients)],
    },
    {
      id: 'bans',
      title: 'Bans placed and lifted',
      summary: `${r.bans.placed} bans placed, ${r.bans.lifted} lifted, ${r.bans.throttles} throttles placed.`,
      tables: [
        {
          head: ['time', 'event', 'client', 'source', 'reason', 'until', 'by'],
          rows: r.bans.events.map((b) => [b.time, b.event, b.client, b.source ?? '', b.reason ?? '', b.until ?? '', b.by ?? '']),
        },
      ],
    },
    {
      id: 'adminActions',
      title: 'Administrative actions',
      summary: `${r.adminActions.total} actions through the admin API.`,
      tables: [
        counts('By action', 'action', r.adminActions.byAction),
        counts('By actor', 'actor', r.adminActions.byActor),
        { caption: 'Actions', head: ['time', 'action', 'by', 'detail'], rows: r.adminActions.entries.map((a) => [a.time, a.event, a.by ?? '', a.detail]) },
      ],
    },
    {
      id: 'configVersions',
      title: 'Configuration versions in force',
      summary: `${r.configVersions.filter((v) => !v.inForceAtStart && v.event !== 'config_rejected').length} configuration changes in the period, ${r.configVersions.filter((v) => v.event === 'config_rejected').length} rejected.`,
      tables: [
        {
          head: ['time', 'event', 'sha256', 'trigger', 'process user', 'file', 'error'],
          rows: r.configVersions.map((v) => [
            v.inForceAtStart ? `${v.time} (in force at the start)` : v.time,
            v.event,
            v.hash ?? '',
            v.trigger ?? '',
            v.processUser ?? '',
            v.file ?? '',
            v.error ?? '',
          ]),
        },
      ],
    },
    {
      id: 'auditChain',
      title: 'Audit log integrity',
      summary: chain.checked ? `${chain.ok ? 'INTACT' : 'TAMPERED'}: ${chain.message}.` : `NOT CHECKED: ${chain.message}.`,
      tables: chain.checkpoints ? [{ head: ['checkpoints', 'result'], rows: [[chain.checkpoints.status, chain.checkpoints.message]] }] : [],
    },
    {
      id: 'tenants',
      title: 'Per tenant',
      summary: `${r.tenants.length} tenants with traffic in the period.`,
      tables: [
        {
          head: ['tenant', 'requests', 'refused', 'auth failures', 'WAF blocks'],
          rows: r.tenants.map((x) => [x.tenant, n(x.requests), n(x.refused), n(x.authFailures), n(x.wafBlocks)]),
        },
      ],
    },
  ];
}

/** The lines under the title: period, tenant, sources. */
export function preamble(r: Report): string[] {
  const lines = [`Period: ${r.period.from} to ${r.period.to} (end excluded). Generated ${r.generatedAt}.`, `Tenant: ${r.tenant ?? 'all tenants'}.`];
  for (const s of r.sources.accessLogs)
    lines.push(
      `Access log ${s.path}: ${s.lines} lines, ${s.used} in the report${s.unreadable + s.oversized > 0 ? `, ${s.unreadable} unreadable, ${s.oversized} oversized (skipped)` : ''}.`,
    );
  const a = r.sources.auditLog;
  lines.push(
    a ? `Audit log ${a.path}: ${a.lines} entries, ${a.used} in the report.` : 'No audit log: bans, admin actions and configuration versions are not covered.',
  );
  if (r.truncated.length > 0) lines.push(`Capped (see docs/report.md, memory bounds): ${r.truncated.join(', ')}.`);
  return lines;
}
