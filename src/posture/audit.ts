/**
 * The posture audit: runs every rule over a loaded config and locates each finding in the user's
 * file. Pure: the caller loads the config, its OpenAPI operations and the file text.
 *
 * Routes generated from `apis` are not in the file: a finding on one points at the key that set
 * the value (`apis[i].overrides.<operation>.<key>`, `apis[i].defaults.<key>`, `apis[i].validate`)
 * or, when the value came from the OpenAPI document or a default, at `apis[i].spec`.
 */
import { keyPathString, type PathSeg } from '../config/errors.js';
import type { CanonicalConfig, RouteConfig } from '../core/config.js';
import { isPublicRoute } from '../stages/auth/public.js';
import { RULES, type Rule, type RouteView } from './rules.js';
import type { SourceMap } from './source.js';
import { OWASP_API_2023, SEVERITIES, severityRank, type Finding, type Report, type Severity, type Summary } from './types.js';

export interface AuditInput {
  readonly file: string;
  /** the loaded tree, with the routes of `apis` appended after the written ones */
  readonly config: CanonicalConfig;
  /** how many routes the file itself writes (the first ones of `config.routes`) */
  readonly writtenRoutes: number;
  readonly source: SourceMap;
  /** whether the route's OpenAPI operation returns objects (false for hand-written routes) */
  readonly returnsObjects: (route: RouteConfig) => boolean;
}

/** The key path of the file that a path of the loaded tree comes from. */
function origin(path: readonly PathSeg[], input: AuditInput): readonly PathSeg[] {
  const i = path[1];
  if (path[0] !== 'routes' || typeof i !== 'number' || i < input.writtenRoutes) return path;
  const route = input.config.routes[i];
  const v = (route?.['validate'] ?? {}) as { api?: string; operation?: string };
  const apis = (input.config['apis'] ?? []) as { id: string }[];
  const a = apis.findIndex((x) => x.id === v.api);
  if (a < 0) return path;
  const rest = path.slice(2);
  const key = rest[0];
  if (key !== undefined) {
    // [the path, how much of it must be written for the value to come from there]
    const candidates: [PathSeg[], number][] = [
      [['apis', a, 'overrides', v.operation ?? '', ...rest], 5],
      [['apis', a, 'defaults', ...rest], 4],
    ];
    if (key === 'validate' && rest[1] !== undefined) candidates.push([['apis', a, 'validate', ...rest.slice(1)], 4]);
    for (const [c, n] of candidates) if (input.source.has(c.slice(0, n))) return c;
  }
  return ['apis', a, 'spec'];
}

export function summarise(findings: readonly Finding[], rules: readonly Rule[]): Summary {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) counts[f.severity]++;
  const owasp = OWASP_API_2023.map(({ id, title }) => {
    const n = findings.filter((f) => f.owasp.includes(id)).length;
    const by = rules.filter((r) => r.meta.owasp.includes(id)).map((r) => r.meta.id);
    return { id, title, status: n > 0 ? ('findings' as const) : by.length > 0 ? ('covered' as const) : ('not-assessed' as const), findings: n, rules: by };
  });
  return { counts, owasp };
}

/** Runs the rules; findings sorted by severity, then file position. */
export function auditConfig(input: AuditInput, rules: readonly Rule[] = RULES): Report {
  const routes: RouteView[] = input.config.routes.map((route, i) => ({
    route,
    path: ['routes', i],
    isPublic: isPublicRoute(route),
    handWritten: i < input.writtenRoutes,
    returnsObjects: input.returnsObjects(route),
  }));
  const ruleInput = { config: input.config, routes, strings: input.source.strings(), written: (p: readonly PathSeg[]) => input.source.has(p) };
  const findings: Finding[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    const m = rule.meta;
    rule.check(ruleInput, (path, message, severity) => {
      const from = origin(path, input);
      const shown = input.source.written(from);
      const pos = input.source.locate(from);
      const f: Finding = {
        id: m.id,
        severity: severity ?? m.severity,
        title: m.title,
        message,
        file: input.file,
        line: pos.line,
        column: pos.column,
        keyPath: keyPathString(shown.length > 0 ? shown : from),
        why: m.why,
        fix: m.fix,
        owasp: m.owasp,
      };
      const id = `${f.id}|${f.line}|${f.column}|${f.message}`;
      if (seen.has(id)) return;
      seen.add(id);
      findings.push(f);
    });
  }
  findings.sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.line - b.line || a.column - b.column || a.id.localeCompare(b.id));
  return { file: input.file, findings, summary: summarise(findings, rules), rules: rules.map((r) => r.meta) };
}

/** Whether some finding is at or above `threshold`. */
export function failsAt(report: Report, threshold: Severity): boolean {
  return report.findings.some((f) => severityRank(f.severity) >= severityRank(threshold));
}
