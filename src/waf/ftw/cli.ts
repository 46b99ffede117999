/**
 * `portcullis waf ftw`: runs go-ftw regression tests (such as the OWASP CRS suite) against the
 * gateway of a config, started in this process on loopback in front of a bundled albedo-like
 * upstream. Exit code: 0 when every test passed or is overridden, 1 when one failed (or a test
 * file could not be read), 2 on a usage or config error.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, ConfigErrors } from '../../config/errors.js';
import { startEchoUpstream } from './echo-upstream.js';
import { startGateway, type HostedGateway } from './gateway-host.js';
import { NO_OVERRIDES, parseOverrides } from './overrides.js';
import { testRegex } from './regex.js';
import { loadSuite, runSuite, summaryText, type LoadedSuite, type TestResult } from './runner.js';

interface Values {
  config?: string | undefined;
  tests?: string | undefined;
  overrides?: string | undefined;
  include?: string | undefined;
  exclude?: string | undefined;
  out?: string | undefined;
  'timeout-ms'?: string | undefined;
  'echo-body'?: boolean | undefined;
  verbose?: boolean | undefined;
  help?: boolean | undefined;
}

export const USAGE = `Usage: portcullis waf ftw --config FILE --tests DIR|FILE [options]

Runs go-ftw regression tests (YAML, e.g. the OWASP CRS suite's tests/regression/tests) against
the gateway that FILE configures, started in this process on 127.0.0.1 (a free port) with every
upstream replaced by a bundled albedo-like backend. Each test's requests are sent as written
(raw sockets) and judged on the status, the response, and the WAF rule ids the gateway's
access record holds for that request.

Options:
  -c, --config FILE        gateway config (YAML or JSON)
  -t, --tests PATH         a test file, or a folder searched for *.yaml / *.yml
      --overrides FILE     go-ftw overrides file (test_overrides: rule_id, test_ids, reason,
                           output, or expect_failure: true for a known failure)
      --include REGEX      run only tests whose 'rule_id-test_id' matches
      --exclude REGEX      skip tests whose 'rule_id-test_id' matches
      --out DIR            write ftw-report.json and ftw-summary.txt there
      --timeout-ms N       time per request (default 5000); no response in time is an error
      --echo-body          the backend sends the request back as JSON (default: empty 200, as albedo)
      --verbose            print each failed test as it happens
  -h, --help               this help

Exit code: 0 every test passed or is overridden, 1 a test failed, 2 usage or config error.`;

function printFailure(r: TestResult): void {
  if (r.outcome !== 'failed') return;
  process.stderr.write(`- ${r.test} failed (${r.file}, stage ${r.stage ?? 0}): ${(r.reasons ?? []).join('; ')}\n`);
}

export async function ftwCommand(argv: string[]): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        tests: { type: 'string', short: 't' },
        overrides: { type: 'string' },
        include: { type: 'string' },
        exclude: { type: 'string' },
        out: { type: 'string' },
        'timeout-ms': { type: 'string' },
        'echo-body': { type: 'boolean' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.config || !values.tests) {
    process.stderr.write(`error: --config and --tests are required\n\n${USAGE}\n`);
    return 2;
  }
  const timeoutMs = values['timeout-ms'] === undefined ? 5000 : Number(values['timeout-ms']);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    process.stderr.write('error: --timeout-ms must be a number of milliseconds (1-600000)\n');
    return 2;
  }
  let include: RegExp | null = null;
  let exclude: RegExp | null = null;
  let overrides = NO_OVERRIDES;
  let suite: LoadedSuite;
  try {
    include = values.include === undefined ? null : testRegex(values.include);
    exclude = values.exclude === undefined ? null : testRegex(values.exclude);
    if (values.overrides !== undefined) overrides = parseOverrides(readFileSync(values.overrides, 'utf8'), values.overrides);
    suite = loadSuite(values.tests);
  } catch (e) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return 2;
  }
  const upstream = await startEchoUpstream({ echoBody: values['echo-body'] === true });
  let gateway: HostedGateway;
  try {
    gateway = await startGateway(values.config, `http://127.0.0.1:${upstream.port}`);
  } catch (e) {
    await upstream.close();
    if (e instanceof ConfigErrors) for (const err of e.errors) process.stderr.write(`error: ${err.message}\n`);
    else if (e instanceof ConfigError) process.stderr.write(`error: ${e.message}\n`);
    else throw e;
    return 2;
  }
  try {
    const report = await runSuite({ gateway, upstream }, suite, {
      overrides,
      include,
      exclude,
      timeoutMs,
      ...(values.verbose ? { onResult: printFailure } : {}),
    });
    const text = summaryText(report);
    process.stdout.write(text);
    if (values.out !== undefined) {
      mkdirSync(values.out, { recursive: true });
      writeFileSync(join(values.out, 'ftw-report.json'), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(join(values.out, 'ftw-summary.txt'), text);
    }
    return report.summary.failed > 0 || report.summary.parse_errors > 0 ? 1 : 0;
  } finally {
    await gateway.stop();
    await upstream.close();
  }
}
