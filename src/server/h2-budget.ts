/**
 * Pure decision code of the HTTP/2 flood budgets (src/server/h2-floods.ts applies them to
 * sessions): a token bucket per counted event, the connection's budget set, and the reading of
 * the errors with which node:http2 (nghttp2) closes a session by itself. No I/O, no clock: `now`
 * (milliseconds) is always passed in.
 */

/** What a connection spent its budget on (the `kind` label of portcullis_http2_flood_total). */
export type FloodKind =
  /** streams ended by RST_STREAM from either side (Rapid Reset, MadeYouReset) or refused before the gateway saw them */
  | 'stream_resets'
  | 'new_streams'
  | 'settings'
  | 'pings'
  /** empty DATA frames without END_STREAM and other invalid frames (node's maxSessionInvalidFrames) */
  | 'invalid_frames'
  /** a header block continued beyond nghttp2's CONTINUATION limit */
  | 'continuations'
  /** control frames whose acknowledgements piled up (nghttp2's outbound queue limit) */
  | 'outbound_queue'
  /** streams refused above the concurrency limit beyond node's maxSessionRejectedStreams */
  | 'rejected_streams';

export const FLOOD_KINDS: readonly FloodKind[] = [
  'stream_resets',
  'new_streams',
  'settings',
  'pings',
  'invalid_frames',
  'continuations',
  'outbound_queue',
  'rejected_streams',
];

/**
 * A token bucket holding at most `limit` tokens, refilled at `limit` per `windowMs`: a burst of
 * `limit` events is allowed, then `limit` per window on average. Mutated in place (one per
 * connection and kind: no allocation per event).
 */
export class WindowBudget {
  private tokens: number;
  private last: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    now: number,
  ) {
    this.tokens = limit;
    this.last = now;
  }

  /** Spends `n` tokens at `now`; false (nothing spent) when fewer are left: the event is over budget. */
  take(now: number, n = 1): boolean {
    if (now > this.last) {
      this.tokens = Math.min(this.limit, this.tokens + ((now - this.last) * this.limit) / this.windowMs);
      this.last = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Tokens left at `now` (without spending). */
  left(now: number): number {
    const refill = now > this.last ? ((now - this.last) * this.limit) / this.windowMs : 0;
    return Math.min(this.limit, this.tokens + refill);
  }
}

/** The per-window limits of one listener (`listeners[].http2`). */
export interface WindowLimits {
  readonly max_resets_per_10s: number;
  readonly max_streams_per_10s: number;
  readonly max_settings_per_10s: number;
  readonly max_pings_per_10s: number;
}

export const BUDGET_WINDOW_MS = 10_000;

/** The budgets of one connection. */
export class ConnectionBudgets {
  private readonly resets: WindowBudget;
  private readonly streams: WindowBudget;
  private readonly settings: WindowBudget;
  private readonly pings: WindowBudget;
  /** streams the peer opened (by stream id) that were accounted for */
  private accounted = 0;

  constructor(limits: WindowLimits, now: number) {
    this.resets = new WindowBudget(limits.max_resets_per_10s, BUDGET_WINDOW_MS, now);
    this.streams = new WindowBudget(limits.max_streams_per_10s, BUDGET_WINDOW_MS, now);
    // the client's first SETTINGS frame (the preface) is not counted
    this.settings = new WindowBudget(limits.max_settings_per_10s + 1, BUDGET_WINDOW_MS, now);
    this.pings = new WindowBudget(limits.max_pings_per_10s, BUDGET_WINDOW_MS, now);
  }

  /** A stream reached the gateway; null while within budget, else the kind that ran out. */
  stream(now: number): FloodKind | null {
    this.accounted++;
    return this.streams.take(now) ? null : 'new_streams';
  }

  /** A stream ended with RST_STREAM (sent or received, any code but NO_ERROR). */
  reset(now: number): FloodKind | null {
    return this.resets.take(now) ? null : 'stream_resets';
  }

  settingsFrame(now: number): FloodKind | null {
    return this.settings.take(now) ? null : 'settings';
  }

  ping(now: number): FloodKind | null {
    return this.pings.take(now) ? null : 'pings';
  }

  /**
   * The highest stream id the peer opened so far (nghttp2's last processed stream id): streams
   * the gateway never saw (refused by nghttp2 or node before any event: header list too large,
   * over the concurrency limit, HPACK errors) were reset by the server, and count as new streams
   * and as resets.
   */
  peerStreamId(lastStreamId: number, now: number): FloodKind | null {
    const opened = lastStreamId > 0 ? (lastStreamId + 1) / 2 : 0;
    const hidden = Math.floor(opened) - this.accounted;
    if (hidden <= 0) return null;
    this.accounted += hidden;
    if (!this.streams.take(now, hidden)) return 'new_streams';
    return this.resets.take(now, hidden) ? null : 'stream_resets';
  }
}

/** RST_STREAM / GOAWAY error codes (RFC 9113 section 7). */
export const H2_NO_ERROR = 0;
export const H2_PROTOCOL_ERROR = 1;
export const H2_REFUSED_STREAM = 7;
export const H2_ENHANCE_YOUR_CALM = 11;

/** nghttp2 library error numbers (nghttp2.h) that mean a flood. */
const NGHTTP2_ERR_CALLBACK_FAILURE = -902;
const NGHTTP2_ERR_FLOODED = -904;
const NGHTTP2_ERR_TOO_MANY_CONTINUATIONS = -905;

/**
 * The flood, if any, behind an error with which node:http2 closed a session by itself: node's
 * own counters (invalid frames, rejected streams) and nghttp2's (CONTINUATION frames per header
 * block, queued acknowledgements). Other errors (a plain protocol error, a reset socket) are no flood.
 */
export function floodOfSessionError(code: string | undefined, errno: number | undefined): FloodKind | null {
  if (code === 'ERR_HTTP2_TOO_MANY_INVALID_FRAMES') return 'invalid_frames';
  if (code !== 'ERR_HTTP2_ERROR') return null;
  if (errno === NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) return 'continuations';
  if (errno === NGHTTP2_ERR_FLOODED) return 'outbound_queue';
  // node fails nghttp2's begin-headers callback when more streams than maxSessionRejectedStreams
  // were refused (over the concurrency limit or the session's memory)
  if (errno === NGHTTP2_ERR_CALLBACK_FAILURE) return 'rejected_streams';
  return null;
}
