/**
 * The gateway under test, in this process: the user's config with its listeners replaced by one
 * on 127.0.0.1 (a free port), every upstream target pointed at the runner's echo upstream, and
 * the admin listener, access-log file, audit log and file watching off. Access records reach the
 * runner through an extra observe-phase module (the same records the access log writes, with the
 * stages' annotations, for requests the HTTP parser refused too).
 */
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { Gateway } from '../../gateway.js';
import { STAGES } from '../../stages/index.js';
import type { AccessRecord } from '../../core/record.js';
import type { Logger } from '../../core/services.js';
import type { StageModule } from '../../core/stage.js';

type Tree = Record<string, unknown>;
const isObj = (v: unknown): v is Tree => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Records kept for correlation (the runner plays one request at a time: a few suffice). */
const KEPT = 256;

/**
 * The config the runner starts: `raw` is the user's parsed config (before secret substitution,
 * which the gateway then does as usual). Pure; exported for tests.
 */
export function runnerConfig(raw: unknown, upstreamUrl: string): Tree {
  if (!isObj(raw)) throw new Error('config must be a mapping');
  const tree: Tree = { ...raw };
  const listeners = Array.isArray(raw['listeners']) ? raw['listeners'] : [];
  const first = isObj(listeners[0]) ? { ...listeners[0] } : {};
  delete first['tls'];
  tree['listeners'] = [{ ...first, address: '127.0.0.1', port: 0 }];
  tree['admin'] = { ...(isObj(raw['admin']) ? raw['admin'] : {}), enabled: false };
  tree['access_log'] = { ...(isObj(raw['access_log']) ? raw['access_log'] : {}), enabled: false };
  if (isObj(raw['audit'])) tree['audit'] = { ...raw['audit'], enabled: false };
  tree['reload'] = { ...(isObj(raw['reload']) ? raw['reload'] : {}), watch: false };
  delete tree['workers'];
  if (isObj(raw['upstreams'])) {
    const ups: Tree = {};
    for (const [name, u] of Object.entries(raw['upstreams'])) {
      if (!isObj(u)) {
        ups[name] = u;
        continue;
      }
      const targets = Array.isArray(u['targets']) && u['targets'].length > 0 ? u['targets'] : [{}];
      ups[name] = { ...u, targets: [{ ...(isObj(targets[0]) ? targets[0] : {}), url: upstreamUrl }] };
    }
    tree['upstreams'] = ups;
  }
  return tree;
}

/** The access records of the gateway's requests, the last KEPT of them, by arrival. */
export class RecordLog {
  private readonly list: { seq: number; record: AccessRecord }[] = [];
  private seq = 0;
  private waiters: (() => void)[] = [];

  add(record: AccessRecord): void {
    this.list.push({ seq: ++this.seq, record });
    if (this.list.length > KEPT) this.list.shift();
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** the sequence number of the last record */
  mark(): number {
    return this.seq;
  }

  /** records that arrived after `mark` */
  since(mark: number): AccessRecord[] {
    return this.list.filter((x) => x.seq > mark).map((x) => x.record);
  }

  /** the record with request id `id`, waiting for it at most `ms` */
  async waitFor(id: string, ms: number): Promise<AccessRecord | null> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.list.find((x) => x.record.id === id);
      if (hit !== undefined) return hit.record;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

/** A logger that keeps errors (to stderr) and drops the rest: a run would print a WAF block per attack. */
export function quietLogger(): Logger {
  const drop = (): void => undefined;
  const err = (...args: unknown[]): void => {
    process.stderr.write(`${JSON.stringify(args.length === 1 ? args[0] : args)}\n`);
  };
  const l: Logger = { fatal: err, error: err, warn: drop, info: drop, debug: drop, trace: drop, child: () => l };
  return l;
}

export interface HostedGateway {
  readonly port: number;
  readonly requestIdHeader: string;
  readonly records: RecordLog;
  stop(): Promise<void>;
}

export async function startGateway(configFile: string, upstreamUrl: string, logger: Logger = quietLogger()): Promise<HostedGateway> {
  const raw = parse(readFileSync(configFile, 'utf8'), { merge: false }) as unknown;
  const tree = runnerConfig(raw, upstreamUrl);
  const records = new RecordLog();
  const observer: StageModule = {
    id: 'ftw.records',
    phase: 'observe',
    order: 1_000_000,
    create: () => ({ forRoute: () => null, observe: (r: AccessRecord) => records.add(r) }),
  };
  const gw = await Gateway.start({
    file: configFile,
    text: JSON.stringify(tree),
    modules: [...STAGES, observer],
    logger,
    watch: false,
    handleSignals: false,
    adminDisabled: true,
  });
  const port = gw.ports()[0];
  if (port === undefined) throw new Error('the gateway started no listener');
  const rid = (tree['request_id'] as { header?: unknown } | undefined)?.header;
  return {
    port,
    requestIdHeader: typeof rid === 'string' ? rid.toLowerCase() : 'x-request-id',
    records,
    stop: async () => {
      await gw.stop(0);
    },
  };
}
