/**
 * The WebSocket side of one route (docs/websocket.md): the handshake checks before the request
 * stages, then, once every stage passed, the upstream handshake (a target from the route's
 * upstream group, the gateway's header hygiene, the client's subprotocols), and only when the
 * upstream answered 101 the client's 101 (`ws` on both sides), and the relay with its limits.
 * A refusal before is an HTTP reply on the raw socket, never a 101.
 */
import { steadyNow } from '../core/clock.js';
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer } from 'ws';
import type { Deny } from '../core/decision.js';
import type { CounterMetric, GaugeMetric, Services } from '../core/services.js';
import type { CompiledRoute, Replies, RequestContext, Upgrader } from '../core/stage.js';
import type { UpstreamForwarder } from '../proxy/forward.js';
import { clientResponseHeaders, HOP_BY_HOP } from '../proxy/headers.js';
import { handshakeRefusal, offeredProtocols, originPolicy, type OriginPolicy } from './handshake.js';
import { Relay, type RelayLimits } from './relay.js';
import type { WebSocketRouteConfig } from './schema.js';

const EMPTY = Buffer.alloc(0);
/** Most bytes of an upstream's refusal (a non-101 answer to the handshake) relayed to the client. Why: an error page, not a download. */
const MAX_REFUSAL_BODY = 64 * 1024;
const REGISTRY = 'websocket.relays';

/** The open connections of the process (every snapshot), closed with 1001 when the gateway stops. */
function registry(services: Services): Set<Relay> {
  return services.keep(REGISTRY, () => new Set<Relay>());
}

/** Closes every open WebSocket with 1001 (going away): the gateway is stopping. */
export function closeWebSockets(services: Services): void {
  for (const r of registry(services)) r.end(1001, 'shutdown');
}

/** What the client's 101 carries besides the handshake fields, by request. */
interface Pending {
  readonly protocol: string;
  readonly lines: readonly string[];
}

export class WebSocketUpgrader implements Upgrader {
  private readonly policy: OriginPolicy;
  private readonly limits: RelayLimits;
  private readonly wss: WebSocketServer;
  private readonly pending = new WeakMap<IncomingMessage, Pending>();
  private readonly open: Set<Relay>;
  private readonly gauge: GaugeMetric<'route'>;
  private readonly messages: CounterMetric<'route' | 'direction'>;

  constructor(
    private readonly routeId: string,
    private readonly cfg: WebSocketRouteConfig,
    private readonly forwarder: UpstreamForwarder,
    private readonly services: Services,
    private readonly requestIdHeader: string,
  ) {
    this.policy = originPolicy(cfg.origins);
    this.limits = {
      maxMessageBytes: cfg.max_message_bytes,
      intervalMs: 1000 / cfg.max_messages_per_second,
      burst: cfg.message_burst,
      idleMs: cfg.idle_timeout_ms,
      maxConnectionMs: cfg.max_connection_ms,
    };
    // permessage-deflate stays off: a small compressed frame can inflate far beyond max_message_bytes' worth of work
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: cfg.max_message_bytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (offered, req) => {
        const p = this.pending.get(req)?.protocol ?? '';
        return p !== '' && offered.has(p) ? p : false;
      },
    });
    this.wss.on('headers', (headers: string[], req: IncomingMessage) => {
      const p = this.pending.get(req);
      if (p !== undefined) headers.push(...p.lines);
    });
    this.open = registry(services);
    const m = services.metrics;
    this.gauge = m.gauge('portcullis_websocket_connections', 'WebSocket connections open, by route.', ['route']);
    this.messages = m.counter('portcullis_websocket_messages_total', 'WebSocket messages relayed, by route and direction (in: from clients).', [
      'route',
      'direction',
    ]);
  }

  check(ctx: RequestContext): Deny | undefined {
    const req = ctx.req;
    return handshakeRefusal({ method: ctx.method, httpVersionMinor: req.httpVersionMinor, headers: req.headers, hasBody: ctx.announcesBody() }, this.policy);
  }

  forward(ctx: RequestContext, _route: CompiledRoute, replies: Replies): void {
    const pick = this.forwarder.upgradeTarget(ctx);
    if (pick === null) return void replies.reply(ctx, { code: 'PC_ERR_UPSTREAM_NO_HEALTHY' }, 'proxy');
    const { target } = pick;
    const group = this.forwarder.group;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      target.active--;
    };
    const headers: Record<string, string | string[]> = {};
    for (let i = 0; i + 1 < pick.headers.length; i += 2) {
      const k = pick.headers[i] as string;
      const v = pick.headers[i + 1] as string;
      if (k.startsWith('sec-websocket-')) continue; // ws writes its own key and version; no extension is offered
      const had = headers[k];
      headers[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    const protocols = offeredProtocols(ctx.req.headers['sec-websocket-protocol']) ?? [];
    const url = `${target.origin.replace(/^http/, 'ws')}${pick.path}`;
    const start = performance.now();
    let up: WebSocket;
    try {
      up = new WebSocket(url, protocols, {
        headers,
        perMessageDeflate: false,
        maxPayload: this.cfg.max_message_bytes,
        handshakeTimeout: this.cfg.handshake_timeout_ms,
        followRedirects: false,
      });
    } catch (e) {
      release();
      return void replies.internalError(ctx, e, 'proxy');
    }
    let settled = false;
    // the client left during the upstream handshake: the exchange is over (pipeline.finish aborts it)
    ctx.exchange = {
      abort: () => {
        if (settled) return;
        settled = true;
        up.terminate();
        release();
      },
    };
    let upgradeHeaders: Record<string, string | string[]> = {};
    up.on('upgrade', (res: IncomingMessage) => {
      upgradeHeaders = clientResponseHeaders(res.headers as Record<string, string | string[] | undefined>, HOP_BY_HOP);
    });
    up.on('unexpected-response', (req, res) => {
      if (settled) return void req.destroy();
      settled = true;
      ctx.exchange = null;
      ctx.upstreamLatencyMs = performance.now() - start;
      group.report(target, res.statusCode !== undefined && res.statusCode < 500, steadyNow());
      this.relayRefusal(ctx, res, replies, () => {
        req.destroy();
        release();
      });
    });
    up.on('error', (e: Error) => {
      if (settled) return;
      settled = true;
      ctx.exchange = null;
      release();
      group.report(target, false, steadyNow());
      const timeout = /timed out/i.test(e.message);
      this.services.metrics.upstreamErrors.inc({ upstream: group.name, code: timeout ? 'WS_HANDSHAKE_TIMEOUT' : 'WS_CONNECT' });
      replies.reply(ctx, { code: timeout ? 'PC_ERR_UPSTREAM_TIMEOUT' : 'PC_ERR_UPSTREAM_UNAVAILABLE', reason: 'websocket handshake' }, 'proxy');
    });
    up.on('open', () => {
      if (settled) return void up.terminate();
      settled = true;
      ctx.upstreamLatencyMs = performance.now() - start;
      group.report(target, true, 0);
      this.accept(ctx, up, upgradeHeaders, release);
    });
  }

  /** The upstream answered 101: the client gets its own 101 and the relay starts. */
  private accept(ctx: RequestContext, up: WebSocket, upHeaders: Record<string, string | string[]>, release: () => void): void {
    const req = ctx.req;
    const socket = req.socket as Socket;
    const res = ctx.res;
    let over = false;
    // the response object no longer speaks for the socket: the exchange ends when the relay does
    const finishExchange = (): void => {
      if (over) return;
      over = true;
      release();
      res.emit('close');
    };
    if (socket.destroyed || !socket.writable) {
      // the client left during the upstream handshake: its socket's close ends the exchange
      up.terminate();
      ctx.exchange = null;
      release();
      return;
    }
    res.detachSocket(socket);
    const lines: string[] = [`${this.requestIdHeader}: ${ctx.id}`];
    const own = new Set<string>([this.requestIdHeader]);
    const extra = ctx.responseHeadersIfAny;
    if (extra !== null) {
      for (const k in extra) {
        lines.push(`${k}: ${extra[k] as string}`);
        own.add(k);
      }
    }
    for (const k in upHeaders) {
      if (own.has(k) || k.startsWith('sec-websocket-') || k === 'content-length') continue;
      const v = upHeaders[k] as string | string[];
      for (const x of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${x}`);
    }
    this.pending.set(req, { protocol: up.protocol, lines });
    const gone = (): void => {
      up.terminate();
      finishExchange();
    };
    socket.once('close', gone);
    ctx.exchange = null;
    this.wss.handleUpgrade(req, socket, EMPTY, (client) => {
      socket.off('close', gone);
      this.pending.delete(req);
      ctx.switched = true;
      const routeId = this.routeId;
      const messages = this.messages;
      const started = performance.now();
      const relay = new Relay(
        client,
        up,
        this.limits,
        expiresAt(ctx),
        () => this.services.clock(),
        { message: (direction) => messages.inc({ route: routeId, direction }) },
        (r) => {
          this.open.delete(r);
          this.gauge.dec({ route: routeId });
          ctx.annotations['websocket'] = { ...r.stats, duration_ms: Math.round(performance.now() - started) };
          ctx.bytesIn = socket.bytesRead;
          finishExchange();
        },
      );
      this.open.add(relay);
      this.gauge.inc({ route: routeId });
    });
  }

  /** The upstream refused the handshake: its status, fields and (bounded) body go to the client. */
  private relayRefusal(ctx: RequestContext, res: IncomingMessage, replies: Replies, done: () => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let sent = false;
    const send = (): void => {
      if (sent) return;
      sent = true;
      res.removeAllListeners('data');
      done();
      const out = clientResponseHeaders(res.headers as Record<string, string | string[] | undefined>, HOP_BY_HOP);
      delete out['content-length'];
      delete out['transfer-encoding'];
      replies.decorate(ctx, out);
      const body = Buffer.concat(chunks, size);
      out['content-length'] = String(body.length);
      const client = ctx.res;
      if (client.headersSent || client.destroyed) return;
      client.writeHead(res.statusCode ?? 502, out);
      client.end(body);
    };
    res.on('data', (c: Buffer) => {
      const room = MAX_REFUSAL_BODY - size;
      if (room <= 0) return;
      const part = c.length > room ? c.subarray(0, room) : c;
      chunks.push(part);
      size += part.length;
      if (size >= MAX_REFUSAL_BODY) send();
    });
    res.once('end', send);
    res.once('error', send);
  }
}

/** The credential's expiry in ms since the epoch (a JWT's `exp`), or null. */
function expiresAt(ctx: RequestContext): number | null {
  const exp = ctx.principal?.claims['exp'];
  return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
}
