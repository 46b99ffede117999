/**
 * HTTP/2 flood protection of one listener: per-connection budgets (src/server/h2-budget.ts) fed
 * from node:http2's session and stream events, and the reading of the errors with which node and
 * nghttp2 close a session by themselves. A connection over a budget gets GOAWAY
 * (ENHANCE_YOUR_CALM) and is destroyed `FLOOD_GRACE_MS` later whatever its streams are doing;
 * the sink counts it, logs it and feeds abuse detection (src/server/h2-flood-report.ts).
 *
 * What node:http2 (nghttp2 1.61 in Node 20) stops by itself, measured with raw frames (docs/http2.md,
 * "Floods"): CONTINUATION frames beyond 8 per header block, empty DATA frames on an open stream
 * (maxSessionInvalidFrames), streams over the concurrency limit (maxSessionRejectedStreams),
 * acknowledgements piling up (1,000 queued), and Rapid Reset after a burst of 1,000. What it does not
 * stop, and this module does: resets the server is made to send (MadeYouReset), Rapid Reset below
 * nghttp2's burst, streams refused before any event (header lists over the limit: HPACK bombs),
 * SETTINGS and PING frames sent at any pace that leaves room for their acknowledgements.
 *
 * Observed without reading the socket: streams closing with an error code that the gateway did
 * not close itself (`markGatewayCloses`), 'ping' and 'remoteSettings' events, and nghttp2's last
 * processed stream id (session.state), read on a shared tick only for connections that received
 * bytes since the last one.
 */
import type * as http2 from 'node:http2';
import type { Http2ListenerConfig } from '../core/config.js';
import { ConnectionBudgets, floodOfSessionError, H2_ENHANCE_YOUR_CALM, H2_NO_ERROR, H2_REFUSED_STREAM, type FloodKind } from './h2-budget.js';

/** Time between GOAWAY and the end of the connection: the client reads the GOAWAY first. */
export const FLOOD_GRACE_MS = 250;
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
  /** streams the connection opened (the gateway saw) and milliseconds it was open, until then */
  readonly streams: number;
  readonly age_ms: number;
}

export type FloodSink = (e: FloodEvent) => void;

interface Watched {
  readonly budgets: ConnectionBudgets;
  readonly since: number;
  streams: number;
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
    const now = this.clock();
    const w: Watched = {
      budgets: new ConnectionBudgets(this.cfg, now),
      since: now,
      streams: 0,
      peer: session.socket?.remoteAddress ?? '',
      bytesRead: 0,
      tripped: false,
    };
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
    // before the request handlers: the gateway's own closes are marked before they happen
    session.prependListener('stream', (stream: http2.ServerHttp2Stream) => {
      if (w.tripped && this.cfg.mode === 'enforce') {
        // over budget: the rest of the read is refused before the gateway reads it
        stream.close(H2_REFUSED_STREAM);
        return;
      }
      w.streams++;
      this.over(session, w, w.budgets.stream(this.clock()));
      const mark = markGatewayCloses(stream);
      // RST_STREAM from the peer, or sent by nghttp2 for a frame the peer should not have sent
      // (MadeYouReset); never a reset the gateway chose (upstream failure, request timeout).
      // Counted at 'aborted' when node emits it (as the frame is read), else at 'close'.
      let counted = false;
      const reset = (): void => {
        if (counted || mark.byGateway) return;
        counted = true;
        this.over(session, w, w.budgets.reset(this.clock()));
      };
      stream.prependOnceListener('aborted', () => {
        if (!stream.destroyed) reset();
      });
      stream.once('close', () => {
        if ((stream.rstCode ?? H2_NO_ERROR) !== H2_NO_ERROR) reset();
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
    // GOAWAY now (sent when this read is processed; nghttp2 then ignores newer streams), the
    // streams still in this read refused as they come (a read holds a thousand Rapid Reset
    // streams), and the connection destroyed a moment later: a socket closed at once, with the
    // client's unread frames still queued, is reset by TCP and the client may lose the GOAWAY
    try {
      session.goaway(H2_ENHANCE_YOUR_CALM, session.state.lastProcStreamID ?? 0);
    } catch {
      // closing already
    }
    const t = setTimeout(() => {
      if (!session.destroyed) session.destroy();
    }, FLOOD_GRACE_MS);
    t.unref();
  }

  private report(w: Watched, kind: FloodKind, action: FloodEvent['action']): void {
    try {
      this.sink({ kind, peer: w.peer, listener: this.listener, action, streams: w.streams, age_ms: this.clock() - w.since });
    } catch {
      // a failing sink must not keep a flooding connection open
    }
  }
}

/**
 * Marks a stream closed by the gateway (its `close()` or `destroy()` called while the stream was
 * still open), as against closed by the peer's RST_STREAM or by nghttp2 (node closes the stream
 * first, then destroys it). Why not the stream's 'aborted' event: node emits it only while the
 * response side is open, and a stream reset in the same read as its HEADERS may already be past
 * that (measured: 65 'aborted' events for 1,040 Rapid Reset streams through the pipeline).
 */
export function markGatewayCloses(stream: http2.ServerHttp2Stream): { byGateway: boolean } {
  const mark = { byGateway: false };
  const close = stream.close;
  const destroy = stream.destroy;
  stream.close = function (this: http2.ServerHttp2Stream, ...args: Parameters<typeof close>) {
    if (!this.closed) mark.byGateway = true;
    return close.apply(this, args);
  };
  stream.destroy = function (this: http2.ServerHttp2Stream, ...args: Parameters<typeof destroy>) {
    if (!this.closed) mark.byGateway = true;
    return destroy.apply(this, args);
  };
  return mark;
}
