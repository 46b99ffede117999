/**
 * SARIF 2.1.0 (OASIS) for code-scanning upload: one run, the rules in `tool.driver.rules`, one
 * result per finding with its region (startLine, startColumn) in the config file.
 * GitHub reads `properties.security-severity` (CVSS-like, 0.1-10) to rank security results.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { OWASP_API_2023, type Report, type Severity } from '../types.js';

export const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { critical: 'error', high: 'error', medium: 'warning', low: 'note', info: 'note' };
const SECURITY_SEVERITY: Record<Severity, string> = { critical: '9.5', high: '8.0', medium: '5.5', low: '3.0', info: '0.5' };

function helpUri(owasp: readonly string[]): string {
  return OWASP_API_2023.find((o) => o.id === owasp[0])?.url ?? 'https://owasp.org/API-Security/editions/2023/en/0x11-t10/';
}

/** A relative path stays relative to the source root (`%SRCROOT%`), as code scanning expects; an absolute one becomes a file URI. */
function artifact(file: string, cwd: string): { uri: string; uriBaseId?: string } {
  if (isAbsolute(file)) {
    const rel = relative(cwd, file);
    if (rel.startsWith('..') || isAbsolute(rel)) return { uri: pathToFileURL(file).href };
    file = rel;
  }
  return { uri: file.split(sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
}

export function renderSarif(report: Report, opts: { version: string; cwd: string }): string {
  const index = new Map(report.rules.map((r, i) => [r.id, i]));
  const location = artifact(report.file, opts.cwd);
  const sarif = {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'portcullis-audit-config',
            fullName: 'Portcullis configuration posture audit',
            semanticVersion: opts.version,
            informationUri: 'https://owasp.org/API-Security/editions/2023/en/0x11-t10/',
            rules: report.rules.map((r) => ({
              id: r.id,
              name: r.id.replace(/(^|[.-])([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase()),
              shortDescription: { text: r.title },
              fullDescription: { text: r.why },
              help: { text: `${r.why} Fix: ${r.fix}`, markdown: `${r.why}\n\n**Fix:** ${r.fix}\n\nOWASP API Security Top 10: ${r.owasp.join(', ')}` },
              helpUri: helpUri(r.owasp),
              defaultConfiguration: { level: LEVEL[r.severity] },
              properties: { tags: ['security', ...r.owasp], precision: 'very-high', 'security-severity': SECURITY_SEVERITY[r.severity], severity: r.severity },
            })),
          },
        },
        ...(location.uriBaseId ? { originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(`${opts.cwd}${sep}`).href } } } : {}),
        results: report.findings.map((f) => ({
          ruleId: f.id,
          ruleIndex: index.get(f.id) ?? 0,
          level: LEVEL[f.severity],
          message: { text: `${f.message}. ${f.fix}` },
          locations: [
            {
              physicalLocation: { artifactLocation: location, region: { startLine: f.line, startColumn: f.column } },
              logicalLocations: [{ fullyQualifiedName: f.keyPath, kind: 'member' }],
            },
          ],
          properties: { severity: f.severity, 'security-severity': SECURITY_SEVERITY[f.severity], owasp: f.owasp, keyPath: f.keyPath, tags: [...f.owasp] },
        })),
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
