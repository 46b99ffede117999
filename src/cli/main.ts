/**
 * The `portcullis` command. Exit codes: 0 ok, 1 runtime failure, 2 bad config or usage.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, ConfigErrors } from '../config/errors.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function version(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

const HELP: Record<string, string> = {
  main: `portcullis: a security-first API gateway

Usage: portcullis <command> [options]

Commands:
  start -c FILE        run the gateway with a config file
  validate -c FILE     check a config file (exit 0 valid, 2 invalid)
  audit-config -c FILE posture audit of a config: findings, OWASP API Top 10, SARIF
  quickstart           run the bundled demo API and the gateway in front of it
  token --dev          print a token for the quickstart's protected route
  keys create          create an API key for a consumer
  waf test             evaluate one request against the WAF and explain the result
  waf ftw              run go-ftw regression tests (OWASP CRS suite) against a config's gateway
  audit verify         check the audit log (hash chain, keyed checkpoints)
  report               compliance report over the access and audit logs (HTML, JSON, Markdown)
  probe URL            run the security validation steps against a live gateway

Options:
  -h, --help           help for a command (portcullis <command> --help)
  -v, --version        print the version
`,
  start: `Usage: portcullis start -c FILE

Runs the gateway. SIGHUP or a change of FILE reloads the config (a bad one is refused and the
running config kept); SIGTERM/SIGINT stop gracefully.

Options:
  -c, --config FILE    config file (YAML or JSON)
`,
  validate: `Usage: portcullis validate -c FILE

Checks a config file: syntax, schema (unknown keys, types), references and cross-key rules.
Every problem is printed as FILE:LINE:COLUMN: message (key.path). Exit 0 valid, 2 invalid.

Options:
  -c, --config FILE    config file (YAML or JSON)
`,
  quickstart: `Usage: portcullis quickstart

Starts the bundled demo API on 127.0.0.1:8081 and the gateway on 127.0.0.1:8080 with
examples/quickstart/portcullis.yaml (admin and metrics on 127.0.0.1:9090).
`,
};

function printConfigError(e: unknown): boolean {
  if (e instanceof ConfigErrors) {
    for (const err of e.errors) process.stderr.write(`error: ${err.message}\n`);
    return true;
  }
  if (e instanceof ConfigError) {
    process.stderr.write(`error: ${e.message}\n`);
    return true;
  }
  return false;
}

async function optionalCommand(spec: string, name: string, argv: string[]): Promise<number> {
  let fn: ((argv: string[]) => Promise<number>) | undefined;
  try {
    fn = ((await import(spec)) as Record<string, (argv: string[]) => Promise<number>>)[name];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
  }
  if (!fn) {
    process.stderr.write(`this command is not available in this build\n`);
    return 2;
  }
  return fn(argv);
}

async function cmdValidate(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(HELP.validate!);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`error: missing -c FILE\n\n${HELP.validate}`);
    return 2;
  }
  const { loadConfigFile } = await import('../config/load.js');
  const { STAGES } = await import('../stages/index.js');
  const { validateDeep } = await import('./validate-deep.js');
  try {
    const loaded = loadConfigFile(values.config, STAGES);
    const { routes } = await validateDeep(loaded, STAGES);
    process.stdout.write(`${values.config}: valid (${routes} routes, ${loaded.config.listeners.length} listeners)\n`);
    return 0;
  } catch (e) {
    if (printConfigError(e)) return 2;
    throw e;
  }
}

async function cmdStart(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(HELP.start!);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`error: missing -c FILE\n\n${HELP.start}`);
    return 2;
  }
  const { startGatewayProcess } = await import('./run.js');
  try {
    await startGatewayProcess(values.config);
    return -1; // keep running
  } catch (e) {
    if (printConfigError(e)) return 2;
    throw e;
  }
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP.main!);
      return cmd === undefined ? 2 : 0;
    case '-v':
    case '--version':
      process.stdout.write(`portcullis ${version()}\n`);
      return 0;
    case 'start':
      return cmdStart(rest);
    case 'validate':
      return cmdValidate(rest);
    case 'quickstart': {
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(HELP.quickstart!);
        return 0;
      }
      const { runQuickstart } = await import('./quickstart.js');
      try {
        await runQuickstart(ROOT);
        return -1;
      } catch (e) {
        if (printConfigError(e)) return 2;
        throw e;
      }
    }
    case 'token':
      return optionalCommand('../stages/auth/dev-token.js', 'devTokenCommand', rest);
    case 'keys':
      return optionalCommand('./keys.js', 'keysCommand', rest);
    case 'waf':
      if (rest[0] === 'ftw') return optionalCommand('../waf/ftw/cli.js', 'ftwCommand', rest.slice(1));
      return optionalCommand('../waf/cli-test.js', 'wafTestCommand', rest[0] === 'test' ? rest.slice(1) : rest);
    case 'audit':
      return optionalCommand('./audit.js', 'auditCommand', rest);
    case 'audit-config':
      return optionalCommand('./audit-config.js', 'auditConfigCommand', rest);
    case 'report':
      return optionalCommand('./report.js', 'reportCommand', rest);
    case 'probe':
      return optionalCommand('./probe.js', 'probeCommand', rest);
    default:
      process.stderr.write(`error: unknown command '${cmd}'\n\n${HELP.main}`);
      return 2;
  }
}
