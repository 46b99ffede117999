/**
 * One proxied WebSocket connection: messages relayed both ways with the route's limits (message
 * size through `ws`'s maxPayload, message rate as a token bucket, idle time, connection time,
 * the credential's expiry), close codes relayed, and what happened counted for the one access-log
 * line written when the connection closes.
 */
import type { WebSocket, RawData } from 'ws';
import { bucketStep } from '../store/decide.js';

/** Who ended the connection, as logged. */
export type ClosedBy = 'client' | 'upstream' | 'gateway';

/** Close codes (RFC 6455 section 7.4.1) the gateway sends. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  badGateway: 1014,
} as const;

export interface RelayLimits {
  readonly maxMessageBytes: number;
  /** token bucket: one message every `intervalMs`, `burst` at once */
  readonly intervalMs: number;
  readonly burst: number;
  readonly idleMs: number;
  readonly maxConnectionMs: number;
}

/** What the access-log line says about the connection. */
export interface RelayStats {
  messages_in: number;
  messages_out: number;
  bytes_in: number;
  bytes_out: number;
  close_code: number | null;
  closed_by: ClosedBy | null;
  /** the gateway's reason when it closed (never a peer's close reason: that is peer-written text) */
  close_reason: string | null;
  subprotocol: string | null;
}

/** Counters the relay feeds (Prometheus). */
export interface RelayMeters {
  message(direction: 'in' | 'out'): void;
}

/** Time allowed for the closing handshake before the sockets are cut. Why: a peer that never answers a close frame must not hold the connection. */
const CLOSE_GRACE_MS = 5000;
/** setTimeout's longest delay; a later deadline is re-armed */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A code that may be sent in a close frame (ws refuses the others). */
function sendable(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

export class Relay {
  readonly stats: RelayStats;
  private tat: number | undefined = undefined;
  private lastActivity: number;
  private idleTimer: NodeJS.Timeout | null = null;
  private maxTimer: NodeJS.Timeout | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private killTimer: NodeJS.Timeout | null = null;
  private open = 2;
  private readonly highWater: number;

  constructor(
    private readonly client: WebSocket,
    private readonly upstream: WebSocket,
    private readonly limits: RelayLimits,
    /** the credential's expiry (ms since the epoch), null when it does not expire */
    expiresAt: number | null,
    private readonly clock: () => number,
    private readonly meters: RelayMeters,
    private readonly onEnd: (r: Relay) => void,
  ) {
    this.stats = {
      messages_in: 0,
      messages_out: 0,
      bytes_in: 0,
      bytes_out: 0,
      close_code: null,
      closed_by: null,
      close_reason: null,
      subprotocol: upstream.protocol === '' ? null : upstream.protocol,
    };
    this.lastActivity = clock();
    // a reader faster than its writer is paused beyond this much buffered (bounded memory per connection)
    this.highWater = Math.max(1 << 20, 2 * limits.maxMessageBytes);
    client.on('message', (data, isBinary) => this.fromClient(data, isBinary));
    upstream.on('message', (data, isBinary) => this.fromUpstream(data, isBinary));
    client.on('ping', () => this.touch());
    upstream.on('ping', () => this.touch());
    client.on('close', (code) => this.closed('client', code));
    upstream.on('close', (code) => this.closed('upstream', code));
    client.on('error', (e: Error & { code?: string }) => this.failed('client', e));
    upstream.on('error', (e: Error & { code?: string }) => this.failed('upstream', e));
    this.armIdle(limits.idleMs);
    this.maxTimer = setTimeout(() => this.end(CLOSE.goingAway, 'max_connection_time'), limits.maxConnectionMs);
    this.maxTimer.unref();
    if (expiresAt !== null) this.armExpiry(expiresAt);
  }

  /** The gateway closes both sides with `code` (shutdown: 1001). */
  end(code: number, reason: string): void {
    if (this.stats.closed_by !== null) return;
    this.stats.closed_by = 'gateway';
    this.stats.close_code = code;
    this.stats.close_reason = reason;
    this.closeBoth(code, code, reason);
  }

  private closeBoth(clientCode: number | null, upstreamCode: number | null, reason: string): void {
    const text = reason.slice(0, 100);
    closeWith(this.client, clientCode, text);
    closeWith(this.upstream, upstreamCode, text);
    this.killTimer ??= setTimeout(() => {
      this.client.terminate();
      this.upstream.terminate();
    }, CLOSE_GRACE_MS);
    this.killTimer.unref();
  }

  private touch(): void {
    this.lastActivity = this.clock();
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      const quiet = this.clock() - this.lastActivity;
      if (quiet >= this.limits.idleMs) this.end(CLOSE.goingAway, 'idle_timeout');
      else this.armIdle(this.limits.idleMs - quiet);
    }, ms);
    this.idleTimer.unref();
  }

  /** A timer at the expiry itself: the connection closes with 1008 as the credential lapses (re-armed past setTimeout's range). */
  private armExpiry(at: number): void {
    const left = at - this.clock();
    if (left <= 0) return void this.end(CLOSE.policy, 'credential_expired');
    this.expiryTimer = setTimeout(() => this.armExpiry(at), Math.min(left, MAX_TIMER_MS));
    this.expiryTimer.unref();
  }

  private fromClient(data: RawData, isBinary: boolean): void {
    if (this.stats.closed_by !== null) return;
    const now = this.clock();
    this.lastActivity = now;
    const step = bucketStep(this.tat, now, this.limits.intervalMs, this.limits.burst);
    if (!step.ok) return void this.end(CLOSE.policy, 'message_rate');
    this.tat = step.nextTat;
    this.stats.messages_in++;
    this.stats.bytes_in += size(data);
    this.meters.message('in');
    this.pass(this.client, this.upstream, data, isBinary);
  }

  private fromUpstream(data: RawData, isBinary: boolean): void {
    if (this.stats.closed_by !== null) return;
    this.lastActivity = this.clock();
    this.stats.messages_out++;
    this.stats.bytes_out += size(data);
    this.meters.message('out');
    this.pass(this.upstream, this.client, data, isBinary);
  }

  /** Sends on `to`; pauses `from` while `to` has more than the high-water mark buffered. */
  private pass(from: WebSocket, to: WebSocket, data: RawData, isBinary: boolean): void {
    if (to.readyState !== to.OPEN) return;
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < this.highWater / 2) from.resume();
    });
    if (to.bufferedAmount > this.highWater && !from.isPaused) from.pause();
  }

  private failed(side: 'client' | 'upstream', e: Error & { code?: string }): void {
    if (this.stats.closed_by !== null) return;
    const tooBig = e.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';
    this.stats.closed_by = 'gateway';
    if (side === 'client') {
      // ws already answered the client with the code of its error (1009 for a message too big, 1002 for a protocol error)
      this.stats.close_code = tooBig ? CLOSE.tooBig : CLOSE.policy;
      this.stats.close_reason = tooBig ? 'message_too_big' : 'client_protocol_error';
      this.closeBoth(null, this.stats.close_code, this.stats.close_reason);
    } else {
      // the client did nothing wrong: it is told the gateway's upstream failed (1014, bad gateway)
      this.stats.close_code = CLOSE.badGateway;
      this.stats.close_reason = tooBig ? 'upstream_message_too_big' : 'upstream_error';
      this.closeBoth(CLOSE.badGateway, null, this.stats.close_reason);
    }
  }

  /** One side closed: the other is closed with the same code (a code that cannot be sent: 1000 or none). */
  private closed(side: 'client' | 'upstream', code: number): void {
    if (this.stats.closed_by === null) {
      this.stats.closed_by = side;
      this.stats.close_code = code;
      const other = side === 'client' ? this.upstream : this.client;
      // 1005: no code in the close frame (none sent on); 1006: the peer vanished without a close frame
      const relayed = sendable(code) ? code : code === 1006 ? (side === 'client' ? CLOSE.goingAway : CLOSE.badGateway) : null;
      closeWith(other, relayed, '');
      this.killTimer ??= setTimeout(() => other.terminate(), CLOSE_GRACE_MS);
      this.killTimer.unref();
    }
    if (--this.open > 0) return;
    for (const t of [this.idleTimer, this.maxTimer, this.expiryTimer, this.killTimer]) if (t !== null) clearTimeout(t);
    this.onEnd(this);
  }
}

function closeWith(ws: WebSocket, code: number | null, reason: string): void {
  if (ws.readyState === ws.CLOSED) return;
  if (ws.readyState === ws.CLOSING) return;
  if (code === null) ws.close();
  else ws.close(code, reason);
}

function size(data: RawData): number {
  if (Array.isArray(data)) {
    let n = 0;
    for (const b of data) n += b.length;
    return n;
  }
  return data instanceof ArrayBuffer ? data.byteLength : data.length;
}
