/**
 * HTTP/2 sessions to one upstream target, for the streams undici's pools do not carry well: gRPC
 * calls, whose request and response bodies flow at the same time and whose response ends with
 * trailers (src/grpc/forward.ts). node:http2 client sessions, at most `maxSessions` per target:
 * a stream goes to the open session with the fewest streams, a new session is opened when every
 * one is at the peer's SETTINGS_MAX_CONCURRENT_STREAMS. A session that received GOAWAY takes no
 * new stream (those in flight finish), one that failed or closed is dropped, and an idle one is
 * closed after `idleMs`. `http://` targets get cleartext HTTP/2 with prior knowledge (h2c),
 * `https://` targets TLS with ALPN `h2` only (the handshake fails if the target offers no h2).
 */
import * as http2 from 'node:http2';

export interface H2SessionOptions {
  readonly maxSessions: number;
  readonly connectTimeoutMs: number;
  /** a session without streams for this long is closed */
  readonly idleMs: number;
}

interface Entry {
  readonly session: http2.ClientHttp2Session;
  /** streams opened and not closed */
  streams: number;
  /** took GOAWAY, failed or closed: no new streams */
  draining: boolean;
  /** resolved when the session is connected, rejected when it failed first */
  readonly ready: Promise<http2.ClientHttp2Session>;
}

function connectError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

export class H2Sessions {
  private readonly entries: Entry[] = [];
  private closed = false;

  constructor(
    readonly origin: string,
    private readonly opts: H2SessionOptions,
  ) {}

  /** Open streams over every session. */
  get streams(): number {
    let n = 0;
    for (const e of this.entries) n += e.streams;
    return n;
  }

  /**
   * A connected session with room for one more stream, and `done` to call when that stream
   * closed. Rejects with the connect error (ECONNREFUSED, a timeout, a TLS failure).
   */
  async acquire(): Promise<{ session: http2.ClientHttp2Session; done: () => void }> {
    if (this.closed) throw connectError('upstream sessions closed', 'UND_ERR_CLOSED');
    const e = this.pick();
    e.streams++;
    let released = false;
    const done = (): void => {
      if (released) return;
      released = true;
      e.streams--;
    };
    try {
      const session = await e.ready;
      return { session, done };
    } catch (err) {
      done();
      throw err;
    }
  }

  private pick(): Entry {
    let best: Entry | null = null;
    for (const e of this.entries) {
      if (e.draining) continue;
      const max = e.session.remoteSettings?.maxConcurrentStreams ?? 100;
      if (e.streams >= max) continue;
      if (best === null || e.streams < best.streams) best = e;
    }
    if (best !== null) return best;
    if (this.live() < this.opts.maxSessions) return this.open();
    // every session is full: the least loaded one queues the stream (nghttp2 holds it until a slot frees)
    let least: Entry | null = null;
    for (const e of this.entries) if (!e.draining && (least === null || e.streams < least.streams)) least = e;
    return least ?? this.open();
  }

  private live(): number {
    let n = 0;
    for (const e of this.entries) if (!e.draining) n++;
    return n;
  }

  private open(): Entry {
    const tls = this.origin.startsWith('https:');
    const session = http2.connect(this.origin, tls ? { ALPNProtocols: ['h2'] } : {});
    let settle: ((s: http2.ClientHttp2Session) => void) | null = null;
    let fail: ((e: Error) => void) | null = null;
    const ready = new Promise<http2.ClientHttp2Session>((res, rej) => {
      settle = res;
      fail = rej;
    });
    ready.catch(() => undefined); // a failure is read by acquire(); an unawaited one is not an error
    const entry: Entry = { session, streams: 0, draining: false, ready };
    this.entries.push(entry);
    const timer = setTimeout(() => {
      fail?.(connectError(`connect timeout to ${this.origin}`, 'UND_ERR_CONNECT_TIMEOUT'));
      session.destroy();
    }, this.opts.connectTimeoutMs);
    timer.unref();
    const drop = (): void => {
      entry.draining = true;
      const i = this.entries.indexOf(entry);
      if (i >= 0) this.entries.splice(i, 1);
    };
    session.once('connect', () => {
      clearTimeout(timer);
      settle?.(session);
      fail = null;
    });
    session.on('error', (err: Error) => {
      clearTimeout(timer);
      fail?.(err);
      fail = null;
      drop();
    });
    session.once('goaway', () => {
      entry.draining = true;
    });
    session.once('close', () => {
      clearTimeout(timer);
      fail?.(connectError(`session to ${this.origin} closed`, 'ECONNRESET'));
      fail = null;
      drop();
    });
    session.setTimeout(this.opts.idleMs, () => {
      if (entry.streams === 0) session.close();
    });
    session.unref();
    return entry;
  }

  /** Closes every session once its streams finished. */
  close(): Promise<void> {
    this.closed = true;
    const all = this.entries.splice(0);
    return Promise.all(all.map((e) => new Promise<void>((res) => (e.session.closed ? res() : e.session.close(() => res()))))).then(() => undefined);
  }

  /** Cuts every session and its streams. */
  destroy(): void {
    this.closed = true;
    for (const e of this.entries.splice(0)) e.session.destroy();
  }
}
