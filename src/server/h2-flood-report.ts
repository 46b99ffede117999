/**
 * What happens when an HTTP/2 connection is closed for a flood (src/server/h2-floods.ts): one
 * count in portcullis_http2_flood_total{listener,kind}, one warn line (`http2.flood`), and, when
 * the connection was closed, one refused exchange (PC_ERR_HTTP2_FLOOD, no method nor path) handed
 * to the observers, where abuse detection counts it (detector `http2_floods`) toward a ban, as it
 * counts parser refusals (src/server/malformed.ts). No access-log line: no request was read.
 */
import { newRequestId } from '../core/request-id.js';
import { ERRORS } from '../core/errors.js';
import { safe, type ListenerRuntime } from '../core/pipeline.js';
import type { AccessRecord } from '../core/record.js';
import { stripMapped } from '../proxy/client-ip.js';
import type { FloodEvent, FloodSink } from './h2-floods.js';
import type { OutsideHost } from './malformed.js';

const CODE = 'PC_ERR_HTTP2_FLOOD';

/** The sink of a listener's flood guard. */
export function floodReporter(host: OutsideHost, listener: ListenerRuntime): FloodSink {
  const services = host.services;
  const counter = services.metrics.counter<'listener' | 'kind'>(
    'portcullis_http2_flood_total',
    'HTTP/2 connections over a flood budget (closed with GOAWAY, or only counted in monitor mode), by listener and kind.',
    ['listener', 'kind'],
  );
  return (e: FloodEvent) => {
    counter.inc({ listener: e.listener, kind: e.kind });
    services.logger.warn(
      { event: 'http2.flood', kind: e.kind, peer: e.peer, listener: e.listener, action: e.action, streams: e.streams, age_ms: e.age_ms },
      e.action === 'goaway' ? 'HTTP/2 connection over its flood budget closed (GOAWAY)' : 'HTTP/2 connection over its flood budget (monitor mode)',
    );
    if (e.action !== 'goaway' || e.peer === '') return;
    const snap = host.snapshot();
    if (snap.observers.length === 0) return;
    const record: AccessRecord = {
      time: Date.now(),
      id: newRequestId(),
      clientIp: stripMapped(e.peer),
      method: null,
      host: null,
      path: null,
      query: '',
      redact: snap.redactQuery,
      routeId: null,
      status: ERRORS[CODE].status,
      bytesIn: 0,
      bytesOut: 0,
      latencyMs: 0,
      upstream: null,
      upstreamLatencyMs: null,
      consumer: null,
      tenant: null,
      outcome: { decision: 'denied', stage: 'connection', code: CODE, reason: e.kind, errors: null },
      listener: listener.info.name,
      monitored: [],
      annotations: null,
    };
    for (const o of snap.observers) safe(() => o(record, null), services.logger);
  };
}
