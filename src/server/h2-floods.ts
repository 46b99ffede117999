/**
 * HTTP/2 flood protection of one listener: per-connection budgets (src/server/h2-budget.ts) fed
 * from node:http2's session and stream events, and the reading of the errors with which node and
 * nghttp2 close a session by themselves. A connection over a budget gets GOAWAY
 * (ENHANCE_YOUR_CALM) and is destroyed `FLOOD_GRACE_MS` later whatever its streams are doing; the
 * sink counts it, logs it and feeds abuse detection (src/server/h2-flood-report.ts).
 *
 * What node:http2 (nghttp2 1.61 in Node 20) stops by itself, measured with raw frames (docs/http2.md,
 * "Floods"): CONTINUATION frames beyond 8 per header block, empty DATA frames on an open stream
 * (maxSessionInvalidFrames), streams over the concurrency limit (maxSessionRejectedStreams),
 * acknowledgements piling up (1,000 queued), and Rapid Reset after a burst of 1,000. What it does not
 * stop, and this module does: resets the server is made to send (MadeYouReset), Rapid Reset below
 * nghttp2's burst, streams refused before any event (header lists over the limit: HPACK bombs),
 * SETTINGS and PING frames sent at any pace that leaves room for their acknowledgements.
 *
 * Observed without reading the socket: stream events (a stream 'aborted' while still alive was
 * closed by RST_STREAM from the peer or from nghttp2, never by the gateway, which destroys it),
 * 'ping' and 'remoteSettings' events, and nghttp2's last processed stream id (session.state),
 * read on a shared tick only for connections that received bytes since the last one.
 */
import type * as http2 from 'node:http2';
import type { Http2ListenerConfig } from '../core/config.js';
import { ConnectionBudgets, floodOfSessionError, H2_ENHANCE_YOUR_CALM, type FloodKind } from './h2-budget.js';

/** Time between GOAWAY and the end of the connection: the GOAWAY is flushed, streams do not linger. */
export const FLOOD_GRACE_MS = 100;
/** How often connections that received bytes have their stream ids read. */
const TICK_MS = 100;

/** One connection over a budget. */
export interface FloodEvent {
  readonly kind: FloodKind;
  /** the peer's address ('' when unknown) */
  readonly peer: string;
  readonly listener: string;
  /** `enforce`: GOAWAY sent and the connection closed (or node closed it); `monitor`: only reported */
  readonly action: 'goaway' | 'monitor';
}

export type FloodSink = (e: FloodEvent) => void;

interface Watched {
  readonly budgets: ConnectionBudgets;
  readonly peer: string;
  bytesRead: number;
  tripped: boolean;
}

type ErrorWithErrno = Error & { code?: string; errno?: number };

/** The flood guard of one listener. */
export class FloodGuard {
  private readonly sessions = new Map<http2.ServerHttp2Session, Watched>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cfg: Http2ListenerConfig,
    private readonly listener: string,
    private readonly sink: FloodSink,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Watches a new session until it closes. */
  watch(session: http2.ServerHttp2Session): void {
    if (this.cfg.mode === 'off') return;
    const w: Watched = { budgets: new ConnectionBudgets(this.cfg, this.clock()), peer: session.socket?.remoteAddress ?? '', bytesRead: 0, tripped: false };
    this.sessions.set(session, w);
    session.once('close', () => {
      this.sessions.delete(session);
      if (this.sessions.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
      }
    });
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      this.over(session, w, w.budgets.stream(this.clock()));
      // alive when aborted: a RST_STREAM from the peer, or one nghttp2 sent for a frame the peer
      // should not have sent (MadeYouReset); the gateway's own resets destroy the stream first.
      // First in line: the request's own 'aborted' listeners may destroy the stream.
      stream.prependOnceListener('aborted', () => {
        if (!stream.destroyed) this.over(session, w, w.budgets.reset(this.clock()));
      });
    });
    session.on('ping', () => this.over(session, w, w.budgets.ping(this.clock())));
    session.on('remoteSettings', () => this.over(session, w, w.budgets.settingsFrame(this.clock())));
    // node:http2 closed the session itself (it sent GOAWAY): report it when it was a flood
    session.on('error', (e: ErrorWithErrno) => {
      const kind = floodOfSessionError(e.code, e.errno);
      if (kind !== null && !w.tripped) {
        w.tripped = true;
        this.report(w, kind, 'goaway');
      }
    });
  }

  /** Connections watched now (for tests and metrics). */
  get size(): number {
    return this.sessions.size;
  }

  private tick(): void {
    const now = this.clock();
    for (const [session, w] of this.sessions) {
      if (w.tripped || session.destroyed) continue;
      const read = session.socket?.bytesRead ?? 0;
      if (read === w.bytesRead) continue;
      w.bytesRead = read;
      let last: number;
      try {
        last = session.state.lastProcStreamID ?? 0;
      } catch {
        continue; // closing
      }
      this.over(session, w, w.budgets.peerStreamId(last, now));
    }
  }

  private over(session: http2.ServerHttp2Session, w: Watched, kind: FloodKind | null): void {
    if (kind === null || w.tripped) return;
    w.tripped = true;
    const enforce = this.cfg.mode === 'enforce';
    this.report(w, kind, enforce ? 'goaway' : 'monitor');
    if (!enforce || session.destroyed) return;
    try {
      session.goaway(H2_ENHANCE_YOUR_CALM, session.state.lastProcStreamID ?? 0);
    } catch {
      // the session is closing already
    }
    const t = setTimeout(() => {
      if (!session.destroyed) session.destroy();
    }, FLOOD_GRACE_MS);
    t.unref();
  }

  private report(w: Watched, kind: FloodKind, action: FloodEvent['action']): void {
    try {
      this.sink({ kind, peer: w.peer, listener: this.listener, action });
    } catch {
      // a failing sink must not keep a flooding connection open
    }
  }
}
