/**
 * One streamed upstream exchange: an undici dispatch handler that writes the upstream response
 * straight into the client response. Why not `Pool.stream`: its handler wraps every request in an
 * AsyncResource and registers `stream.finished` listeners on the response; measured here, a plain
 * handler object costs several microseconds less per request on the proxy's hot path.
 *
 * It implements undici's raw handler interface (onConnect, onHeaders, ...), the one undici's own
 * `Pool.stream` uses: the newer `onRequestStart` interface is adapted to it by a wrapper that
 * allocates a controller and parses the response headers into an object for every request, and
 * the gateway needs neither (the headers go to the client as a list, see clientResponseHeaderList).
 *
 * The handler owns only the flow of bytes (backpressure both ways, abort); what to send (status,
 * headers, retries, health reports) is decided by its owner, the pipeline.
 */
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { BodyTap } from '../core/decision.js';

/** What an exchange reports back to the code that started it. */
export interface ExchangeOwner<S> {
  /** Final (non-1xx) upstream status and raw headers ([name, value, ...] as Buffers); the owner writes the response head. */
  exchangeHead(x: Exchange<S>, status: number, rawHeaders: readonly Buffer[]): void;
  /** The upstream body ended and the client response was ended. */
  exchangeEnd(x: Exchange<S>): void;
  /** The exchange failed (connect error, timeout, reset, abort), before or after the head. */
  exchangeError(x: Exchange<S>, err: Error): void;
}

/** Most bytes of a captured (replaced) upstream body kept. */
const CAPTURE_MAX = 4096;

function clientGone(): Error {
  return Object.assign(new Error('client closed the connection'), { code: 'PC_CLIENT_CLOSED' });
}

/** undici's raw dispatch handler interface (lib/handler/unwrap-handler.js adapts the newer one to it). */
export interface RawDispatchHandler {
  onConnect(abort: (err?: Error) => void): void;
  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean;
  onData(chunk: Buffer): boolean;
  /** HTTP/1.1: raw [name, value, ...] buffers; HTTP/2 (undici's h2 client): an object */
  onComplete(trailers: Buffer[] | Record<string, string | string[] | undefined> | null): void;
  onError(err: Error): void;
}

export class Exchange<S> implements RawDispatchHandler {
  private abortFn: ((err?: Error) => void) | null = null;
  private resumeFn: (() => void) | null = null;
  /** true once the upstream response ended or failed */
  done = false;
  /**
   * Body bytes still to come when the response declared a Content-Length (set by the owner with
   * the head), else -1. The chunk that completes the body goes out with the end of the response:
   * one write and no end-of-tick uncork, where write() then end() cost two.
   */
  bodyLeft = -1;
  /**
   * When set (by the owner, with the head), the upstream body is not sent: its first
   * `CAPTURE_MAX` bytes are kept here, and the owner writes the response at the end.
   */
  capture: Buffer[] | null = null;
  private captured = 0;
  captureStatus = 0;
  captureHeaders: readonly Buffer[] | null = null;
  /**
   * Set by the owner with the head when a stage answered instead (a cache's stored response):
   * the upstream body is read to its end and dropped, the client response is not touched.
   */
  discard = false;
  /** a stage's tap on the body on its way to the client (a cache storing it), set with the head */
  tap: BodyTap | null = null;
  /**
   * The upstream's trailers go to the client (set by the owner): over HTTP/2, or over HTTP/1.1
   * when the client said `TE: trailers` (they then need a chunked response).
   */
  relayTrailers = false;
  /** the client response was ended with the last chunk */
  private ended = false;
  private aborted = false;

  constructor(
    private readonly owner: ExchangeOwner<S>,
    readonly res: ServerResponse,
    /** owner's state for this attempt (request context, target, attempt number) */
    readonly state: S,
  ) {}

  /** As undici's dispatcher expects it (the raw interface is not in its published types). */
  get handler(): Dispatcher.DispatchHandler {
    return this as unknown as Dispatcher.DispatchHandler;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortFn = abort;
    if (this.aborted) abort(clientGone()); // the client left while the request was queued
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true; // 1xx interim responses are not forwarded
    this.resumeFn = resume;
    this.owner.exchangeHead(this, statusCode, rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.discard) return true;
    if (this.tap !== null && !this.tap.chunk(chunk)) this.tap = null;
    if (this.capture !== null) {
      if (this.captured < CAPTURE_MAX) this.capture.push(chunk.subarray(0, CAPTURE_MAX - this.captured));
      this.captured += chunk.length;
      return true;
    }
    if (this.bodyLeft >= 0) {
      this.bodyLeft -= chunk.length;
      if (this.bodyLeft === 0) {
        this.ended = true;
        // the tap (the cache's store) ends before the client's response does, so that the entry's
        // write has begun when the client, or a request waiting on the fill, sees the end
        if (this.tap !== null) {
          this.tap.end();
          this.tap = null;
        }
        this.res.end(chunk);
        return true;
      }
    }
    if (!this.res.write(chunk) && !this.res.destroyed) {
      this.res.once('drain', () => this.resumeFn?.());
      return false; // undici pauses the upstream socket until resume()
    }
    return true;
  }

  onComplete(trailers: Buffer[] | Record<string, string | string[] | undefined> | null): void {
    if (this.done) return;
    this.done = true;
    if (this.tap !== null) {
      this.tap.end();
      this.tap = null;
    }
    if (!this.ended && this.capture === null && !this.discard) {
      if (this.relayTrailers && trailers !== null) relayTrailers(this.res, trailers);
      this.res.end();
    }
    this.owner.exchangeEnd(this);
  }

  onError(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.untap();
    this.owner.exchangeError(this, err);
  }

  /** Called when the client went away: stops the upstream request (its socket is not reused). */
  abort(): void {
    if (this.done || this.aborted) return;
    this.aborted = true;
    this.untap();
    this.abortFn?.(clientGone());
  }

  /** The body will not arrive whole: the tap learns it. */
  private untap(): void {
    if (this.tap === null) return;
    const t = this.tap;
    this.tap = null;
    t.abort();
  }
}

/** Trailer fields never relayed: framing, routing and the fields RFC 9110 section 6.5.1 keeps out of trailers. */
const NOT_TRAILERS: ReadonlySet<string> = new Set([
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'host',
  'connection',
  'te',
  'trailer',
  'authorization',
  'set-cookie',
  'cache-control',
]);

/** Adds the upstream's trailers to the client response (Node sends them with the last chunk, or in HTTP/2 trailers). */
function relayTrailers(res: ServerResponse, raw: Buffer[] | Record<string, string | string[] | undefined>): void {
  const out: [string, string][] = [];
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out.push([(raw[i] as Buffer).toString('latin1').toLowerCase(), (raw[i + 1] as Buffer).toString('latin1')]);
  } else {
    for (const k in raw) {
      const v = raw[k];
      if (v === undefined || k.charCodeAt(0) === 0x3a) continue;
      for (const x of typeof v === 'string' ? [v] : v) out.push([k.toLowerCase(), x]);
    }
  }
  // as an object: node:http2's compatibility response takes no list; repeated fields are joined
  const kept: Record<string, string> = Object.create(null) as Record<string, string>;
  let any = false;
  for (const [k, v] of out) {
    if (NOT_TRAILERS.has(k)) continue;
    kept[k] = kept[k] === undefined ? v : `${kept[k]}, ${v}`;
    any = true;
  }
  if (any) res.addTrailers(kept);
}
