/**
 * `workers: N` without Redis: the primary process owns one MemoryStore, and each worker's
 * ClusterStore forwards every operation to it over the node:cluster IPC channel, so that limits
 * stay global across workers. Each call is one IPC message each way with a timeout; a worker that
 * lost its channel reports unhealthy (callers use their fallback). Concurrency slots held by a
 * worker that exits are released by the primary.
 *
 * Primary:  const stop = serveClusterStore(memoryStore)   // before forking
 * Worker:   services.store = new ClusterStore({ timeoutMs: 500 })
 */
import cluster, { type Worker } from 'node:cluster';
import { StoreUnavailableError, type Lease, type LimitCheck, type LimitResult, type StateStore } from '../core/state.js';

/** Marker on every store message so that other IPC traffic is left alone. */
const TAG = '__portcullisStore';

type Op = 'limit' | 'release' | 'once' | 'incr' | 'set' | 'get' | 'del' | 'scan';

interface CallMsg {
  readonly [TAG]: 1;
  readonly id: number;
  readonly op: Op;
  readonly args: unknown[];
}

interface ReplyMsg {
  readonly [TAG]: 1;
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

function isStoreMsg(m: unknown): m is Record<string, unknown> {
  return typeof m === 'object' && m !== null && (m as Record<string, unknown>)[TAG] === 1;
}

/** The worker's side of the IPC channel (process by default). */
export interface WorkerChannel {
  send?(msg: unknown): boolean;
  readonly connected?: boolean;
  on(event: 'message', fn: (msg: unknown) => void): unknown;
  off(event: 'message', fn: (msg: unknown) => void): unknown;
}

export interface ClusterStoreOptions {
  /** a call not answered within this time is rejected (StoreUnavailableError) */
  readonly timeoutMs?: number;
  /** most calls awaiting an answer; more are rejected at once */
  readonly maxPending?: number;
  readonly channel?: WorkerChannel;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/** Worker side: a StateStore whose decisions are made by the primary's store. */
export class ClusterStore implements StateStore {
  readonly kind = 'cluster' as const;
  private readonly channel: WorkerChannel;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private closed = false;
  private readonly onMessage = (msg: unknown): void => {
    if (!isStoreMsg(msg)) return;
    const r = msg as unknown as ReplyMsg;
    const p = this.pending.get(r.id);
    if (!p) {
      // a decision that arrived after its timeout: give back any slot it took
      const lease = r.ok ? (r.value as { lease?: Lease | null } | null)?.lease : null;
      if (lease) this.release(lease);
      return;
    }
    this.pending.delete(r.id);
    clearTimeout(p.timer);
    if (r.ok) p.resolve(r.value);
    else p.reject(new StoreUnavailableError(`cluster store: ${r.error ?? 'error'}`));
  };

  constructor(opts: ClusterStoreOptions = {}) {
    this.channel = opts.channel ?? (process as unknown as WorkerChannel);
    this.timeoutMs = opts.timeoutMs ?? 500;
    this.maxPending = opts.maxPending ?? 10000;
    this.channel.on('message', this.onMessage);
  }

  private call<T>(op: Op, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new StoreUnavailableError('cluster store closed'));
    if (!this.healthy()) return Promise.reject(new StoreUnavailableError('cluster store: no channel to the primary'));
    if (this.pending.size >= this.maxPending) return Promise.reject(new StoreUnavailableError('cluster store: too many pending calls'));
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new StoreUnavailableError(`cluster store: ${op} timed out`));
      }, this.timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const msg: CallMsg = { [TAG]: 1, id, op, args };
      try {
        this.channel.send!(msg);
      } catch (e) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new StoreUnavailableError(`cluster store: ${(e as Error).message}`));
      }
    });
  }

  healthy(): boolean {
    return !this.closed && typeof this.channel.send === 'function' && this.channel.connected !== false;
  }

  limit(checks: readonly LimitCheck[], now: number): Promise<LimitResult> {
    return this.call<LimitResult>('limit', [checks, now]);
  }

  release(lease: Lease): void {
    if (!this.healthy()) return;
    try {
      this.channel.send!({ [TAG]: 1, id: 0, op: 'release', args: [lease] } satisfies CallMsg);
    } catch {
      // the primary releases a dead worker's slots
    }
  }

  once(key: string, ttlMs: number): Promise<boolean> {
    return this.call('once', [key, ttlMs]);
  }
  incr(key: string, ttlMs: number, by = 1): Promise<number> {
    return this.call('incr', [key, ttlMs, by]);
  }
  set(key: string, value: string, ttlMs: number): Promise<void> {
    return this.call('set', [key, value, ttlMs]);
  }
  get(key: string): Promise<string | null> {
    return this.call('get', [key]);
  }
  del(key: string): Promise<void> {
    return this.call('del', [key]);
  }
  scan(prefix: string, max: number): Promise<{ key: string; value: string; ttlMs: number }[]> {
    return this.call('scan', [prefix, max]);
  }

  close(): Promise<void> {
    this.closed = true;
    this.channel.off('message', this.onMessage);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new StoreUnavailableError('cluster store closed'));
      this.pending.delete(id);
    }
    return Promise.resolve();
  }
}

/** The primary's view of the cluster (node:cluster by default). */
export interface PrimaryChannel {
  on(event: 'message', fn: (worker: Worker, msg: unknown) => void): unknown;
  on(event: 'exit', fn: (worker: Worker) => void): unknown;
  off(event: 'message', fn: (worker: Worker, msg: unknown) => void): unknown;
  off(event: 'exit', fn: (worker: Worker) => void): unknown;
}

/**
 * Primary side: answers the workers' store calls from `store` (normally a MemoryStore).
 * Leases are tracked per worker and released when the worker exits. Returns a function that stops serving.
 */
export function serveClusterStore(store: StateStore, channel: PrimaryChannel = cluster as unknown as PrimaryChannel): () => void {
  const leases = new Map<number, Map<string, Lease>>();
  let seq = 0;

  const reply = (worker: Worker, id: number, ok: boolean, value: unknown, error?: string): void => {
    if (id === 0 || !worker.isConnected()) return;
    const msg: ReplyMsg = ok ? { [TAG]: 1, id, ok, value: value ?? null } : { [TAG]: 1, id, ok, error: error ?? 'error' };
    try {
      worker.send(msg);
    } catch {
      // the worker is gone; its pending call times out
    }
  };

  const handle = async (worker: Worker, m: CallMsg): Promise<unknown> => {
    const a = m.args;
    switch (m.op) {
      case 'limit': {
        const r = await store.limit(a[0] as LimitCheck[], Number(a[1]));
        if (r.lease === null) return r;
        // the primary names the lease, so that a worker cannot release another's slots
        const id = `${worker.id}:${++seq}`;
        let mine = leases.get(worker.id);
        if (!mine) leases.set(worker.id, (mine = new Map()));
        mine.set(id, r.lease);
        return { ...r, lease: { id, keys: r.lease.keys } };
      }
      case 'release': {
        const id = String((a[0] as { id?: unknown } | undefined)?.id ?? '');
        const mine = leases.get(worker.id);
        const lease = mine?.get(id);
        if (lease) {
          mine!.delete(id);
          store.release(lease);
        }
        return null;
      }
      case 'once':
        return store.once(String(a[0]), Number(a[1]));
      case 'incr':
        return store.incr(String(a[0]), Number(a[1]), a[2] === undefined ? 1 : Number(a[2]));
      case 'set':
        return store.set(String(a[0]), String(a[1]), Number(a[2]));
      case 'get':
        return store.get(String(a[0]));
      case 'del':
        return store.del(String(a[0]));
      case 'scan':
        return store.scan(String(a[0]), Math.min(Number(a[1]), 10000));
      default:
        throw new Error('unknown operation');
    }
  };

  const onMessage = (worker: Worker, msg: unknown): void => {
    if (!isStoreMsg(msg)) return;
    const m = msg as unknown as CallMsg;
    const id = typeof m.id === 'number' ? m.id : 0;
    if (!Array.isArray(m.args) || m.args.length > 4 || (m.op === 'limit' && !Array.isArray(m.args[0]))) {
      reply(worker, id, false, null, 'bad request');
      return;
    }
    handle(worker, m).then(
      (v) => reply(worker, id, true, v),
      (e: unknown) => reply(worker, id, false, null, e instanceof Error ? e.message : 'error'),
    );
  };

  const onExit = (worker: Worker): void => {
    const mine = leases.get(worker.id);
    if (!mine) return;
    leases.delete(worker.id);
    for (const lease of mine.values()) store.release(lease);
  };

  channel.on('message', onMessage);
  channel.on('exit', onExit);
  return () => {
    channel.off('message', onMessage);
    channel.off('exit', onExit);
  };
}
