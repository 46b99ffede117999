/**
 * `portcullis audit-config -c FILE`: the posture audit of a config file, without running it
 * (src/posture/). Exit codes: 0 no finding at or above --fail-on (or no --fail-on), 1 a finding
 * at or above it, 2 bad usage or an invalid config (printed as FILE:LINE:COLUMN errors).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { attempt } from './attempt.js';
import { ConfigError, ConfigErrors } from '../config/errors.js';
import type { CanonicalConfig, RouteConfig } from '../core/config.js';
import type { Severity } from '../posture/types.js';

export const USAGE = `Usage: portcullis audit-config -c FILE [--format table|json|markdown|sarif] [--output FILE] [--fail-on SEVERITY]

Audits the security posture of a config file without running it: one finding per weakness, with
its severity, FILE:LINE, why it matters, the fix, and the OWASP API Security Top 10 (2023) items
it concerns; a summary marks API1..API10 as covered, with findings, or not assessed.
The rules are listed in docs/posture.md.

Options:
  -c, --config FILE      config file (YAML or JSON)
  -f, --format FORMAT    table (default), json, markdown or sarif (SARIF 2.1.0, for code scanning)
  -o, --output FILE      write the report to FILE instead of stdout
      --fail-on SEVERITY exit 1 when a finding is at or above SEVERITY: critical, high, medium or low

Exit codes: 0 no finding at or above --fail-on; 1 one at least; 2 usage error or invalid config.`;

const FORMATS = ['table', 'json', 'markdown', 'sarif'] as const;
const FAIL_ON = ['critical', 'high', 'medium', 'low'] as const;

type Out = (s: string) => void;

/** Whether each generated route's OpenAPI operation returns objects, by `api` id and operation key. */
async function objectOperations(config: CanonicalConfig, baseDir: string): Promise<Set<string>> {
  const { loadOpenApi } = await import('../openapi/load.js');
  const { listOperations } = await import('../openapi/operations.js');
  const { returnsObjects } = await import('../posture/openapi.js');
  const out = new Set<string>();
  for (const api of (config['apis'] ?? []) as { id: string; spec: string }[]) {
    for (const op of listOperations(await loadOpenApi(resolve(baseDir, api.spec)))) if (returnsObjects(op)) out.add(`${api.id}\u0000${op.key}`);
  }
  return out;
}

export async function auditConfigCommand(
  argv: readonly string[],
  out: Out = (s) => process.stdout.write(s),
  err: Out = (s) => process.stderr.write(s),
): Promise<number> {
  const parsed = attempt(() =>
    parseArgs({
      args: [...argv],
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        format: { type: 'string', short: 'f', default: 'table' },
        output: { type: 'string', short: 'o' },
        'fail-on': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (parsed instanceof Error) {
    err(`error: ${parsed.message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values } = parsed;
  if (values.help) {
    out(`${USAGE}\n`);
    return 0;
  }
  const format = values.format as (typeof FORMATS)[number];
  const failOn = values['fail-on'] as (typeof FAIL_ON)[number] | undefined;
  const usage = !values.config
    ? 'missing -c FILE'
    : !FORMATS.includes(format)
      ? `unknown format '${format}' (${FORMATS.join(', ')})`
      : failOn !== undefined && !FAIL_ON.includes(failOn)
        ? `unknown severity '${failOn}' (${FAIL_ON.join(', ')})`
        : null;
  if (usage !== null || !values.config) {
    err(`error: ${usage}\n\n${USAGE}\n`);
    return 2;
  }
  const file = values.config;

  const { loadConfigFile } = await import('../config/load.js');
  const { STAGES } = await import('../stages/index.js');
  const { validateDeep } = await import('./validate-deep.js');
  const { SourceMap } = await import('../posture/source.js');
  const { auditConfig, failsAt } = await import('../posture/audit.js');
  let input: Parameters<typeof auditConfig>[0];
  try {
    const loaded = loadConfigFile(file, STAGES);
    // the checks `portcullis validate` makes; the compiled copy has the routes of `apis`
    const { config } = await validateDeep(loaded, STAGES);
    const objects = await objectOperations(config, loaded.baseDir);
    input = {
      file,
      config,
      writtenRoutes: loaded.config.routes.length,
      source: new SourceMap(readFileSync(file, 'utf8')),
      returnsObjects: (r: RouteConfig) => {
        const v = (r['validate'] ?? {}) as { api?: string; operation?: string };
        return v.api !== undefined && objects.has(`${v.api}\u0000${v.operation ?? ''}`);
      },
    };
  } catch (e) {
    if (e instanceof ConfigErrors) {
      for (const x of e.errors) err(`error: ${x.message}\n`);
      return 2;
    }
    if (e instanceof ConfigError) {
      err(`error: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const report = auditConfig(input);
  const { version } = await import('./main.js');
  let text: string;
  if (format === 'json') text = (await import('../posture/render/json.js')).renderJson(report, { version: version() });
  else if (format === 'markdown') text = (await import('../posture/render/markdown.js')).renderMarkdown(report);
  else if (format === 'sarif') text = (await import('../posture/render/sarif.js')).renderSarif(report, { version: version(), cwd: process.cwd() });
  else text = (await import('../posture/render/table.js')).renderTable(report);
  if (values.output !== undefined) {
    try {
      writeFileSync(values.output, text);
    } catch (e) {
      err(`error: cannot write ${values.output}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      return 2;
    }
  } else out(text);
  return failOn !== undefined && failsAt(report, failOn as Severity) ? 1 : 0;
}
