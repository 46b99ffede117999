/**
 * Starts a real gateway in this process from YAML text, on 127.0.0.1 with free ports, with the
 * access log captured. `{{NAME}}` placeholders in the YAML are replaced from `vars`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Gateway } from '../../src/gateway.js';
import type { StageModule } from '../../src/core/stage.js';
import type { AdminHandler } from '../../src/admin/server.js';
import type { StopOutcome } from '../../src/server/stop.js';
import { forProtocol, registerGatewayPorts } from './protocol.js';

export interface TestGateway {
  readonly gateway: Gateway;
  /** http(s)://127.0.0.1:PORT of the first listener */
  readonly url: string;
  readonly port: number;
  readonly ports: number[];
  readonly adminUrl: string | null;
  /** the config file (write to it and call reload() to test reloads) */
  readonly file: string;
  /** parsed access-log lines so far */
  logLines(): Record<string, unknown>[];
  /** parsed gateway (non-access) log lines so far */
  eventLines(): Record<string, unknown>[];
  reload(text?: string): Promise<boolean>;
  /** stops the gateway (Gateway.stop): resolves with whether the stop was clean */
  close(graceMs?: number): Promise<StopOutcome>;
}

export interface StartOptions {
  vars?: Record<string, string | number>;
  modules?: readonly StageModule[];
  adminHandlers?: readonly AdminHandler[];
  /** keep the listeners' configured ports instead of picking free ones */
  keepPorts?: boolean;
  /** directory for the config file (relative paths in the config resolve against it) */
  dir?: string;
  fileName?: string;
}

export function fill(yamlText: string, vars: Record<string, string | number> = {}): string {
  return yamlText.replace(/\{\{([A-Za-z0-9_]+)\}\}/g, (_m, k: string) => {
    if (!(k in vars)) throw new Error(`missing test var ${k}`);
    return String(vars[k]);
  });
}

function collector(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  let buf = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.trim() !== '') {
          try {
            lines.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            lines.push({ unparsed: line });
          }
        }
      }
      cb();
    },
  });
  return { stream, lines };
}

export async function startGateway(yamlText: string, opts: StartOptions = {}): Promise<TestGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'portcullis-test-'));
  const file = join(dir, opts.fileName ?? 'portcullis.yaml');
  // PC_TEST_PROTOCOL=h2|h2c: the listeners serve HTTP/2 (test/helpers/protocol.ts)
  let text = forProtocol(fill(yamlText, opts.vars));
  // access log goes to a file we tail via the shared collector below
  const accessFile = join(dir, 'access.log');
  if (!/^access_log:/m.test(text)) text += `\naccess_log:\n  path: ${accessFile}\n`;
  if (!/^admin:/m.test(text)) text += `\nadmin:\n  port: 0\n`;
  writeFileSync(file, text);
  const events = collector();
  const logger = pino({ level: 'debug', base: { log: 'gateway' } }, events.stream);
  const gw = await Gateway.start({
    file,
    logger,
    watch: false,
    handleSignals: false,
    ...(opts.keepPorts ? {} : { portOverride: () => 0, adminPortOverride: 0 }),
    ...(opts.modules ? { modules: opts.modules } : {}),
    ...(opts.adminHandlers ? { adminHandlers: opts.adminHandlers } : {}),
  });
  const ports = gw.ports();
  registerGatewayPorts(ports);
  const tls = gw.config.listeners[0]?.tls !== undefined;
  const adminPort = gw.adminPort();
  const { readFileSync, existsSync } = await import('node:fs');
  const readAccess = (): Record<string, unknown>[] => {
    const lf = gw.config.access_log.path;
    if (!existsSync(lf)) return [];
    // the last element is '' or a line still being written: only complete lines are parsed
    return readFileSync(lf, 'utf8')
      .split('\n')
      .slice(0, -1)
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };
  return {
    gateway: gw,
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${ports[0]}`,
    port: ports[0] as number,
    ports,
    adminUrl: adminPort === null ? null : `http://127.0.0.1:${adminPort}`,
    file,
    logLines: readAccess,
    eventLines: () => events.lines,
    reload: (t?: string) => gw.reload(t === undefined ? undefined : forProtocol(fill(t, opts.vars))),
    close: (graceMs = 0) => gw.stop(graceMs),
  };
}

/**
 * Waits until the access log holds at least `n` lines, or a line for which `pred` holds
 * (the access log formats and writes in batches). Returns all lines.
 */
export async function waitForLogLines(
  tg: TestGateway,
  n: number | ((line: Record<string, unknown>) => boolean),
  timeoutMs = 3000,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    tg.gateway.accessLog()?.flush();
    const lines = tg.logLines();
    const done = typeof n === 'number' ? lines.length >= n : lines.some(n);
    if (done || Date.now() > deadline) return lines;
    await new Promise((r) => setTimeout(r, 20));
  }
}
