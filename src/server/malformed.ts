/**
 * Requests the HTTP parser (llhttp) refused: bare LF line ends, invalid header characters,
 * oversized heads. They never reach the pipeline and are never proxied, and the parser is never
 * relaxed; but they are read leniently (server/raw-request.ts) so that the inspecting stages (WAF)
 * see what was sent, and they get an access-log line and metrics like any local reply.
 * Synchronous: the snapshot is read once and nothing outlives the call.
 */
import { performance } from 'node:perf_hooks';
import { Buffer } from 'node:buffer';
import { STATUS_CODES } from 'node:http';
import { newRequestId } from '../core/request-id.js';
import type { MonitorEvent } from '../core/context.js';
import type { Deny } from '../core/decision.js';
import { ERRORS, type ErrorCode } from '../core/errors.js';
import { safe, type ListenerRuntime, type PipelineHost } from '../core/pipeline.js';
import { rawProblem } from '../core/problem.js';
import type { AccessRecord } from '../core/record.js';
import { parseRawRequest } from './raw-request.js';
import { stripMapped } from '../proxy/client-ip.js';
import { hostWithoutPort } from '../router/normalise.js';

/** What the handling needs from the gateway. */
export type OutsideHost = Pick<PipelineHost, 'services' | 'snapshot' | 'accessLog'>;

/** The clientError a parser failure raises: llhttp's code and the packet it failed in. */
export interface ParserError {
  readonly code?: string | undefined;
  readonly rawPacket?: Buffer | undefined;
}

/** What is read from the socket the request came on. */
export interface PeerInfo {
  readonly remoteAddress?: string | undefined;
}

/**
 * Decides, logs and counts the reply to a request the HTTP parser refused, and returns the raw
 * HTTP reply to write (problem+json, Connection: close). A stage may turn the 400 (never the 431)
 * into its own refusal, e.g. 403 PC_ERR_WAF_BLOCKED; monitor-mode verdicts are only recorded.
 */
export function replyToParserError(host: OutsideHost, err: ParserError, peer: PeerInfo, listener: ListenerRuntime): string {
  const started = performance.now();
  const snap = host.snapshot();
  const id = newRequestId();
  const parserCode = err.code ?? 'HPE_UNKNOWN';
  const overflow = parserCode === 'HPE_HEADER_OVERFLOW';
  const raw = err.rawPacket ? parseRawRequest(err.rawPacket, listener.config.max_header_bytes) : null;

  const annotations: Record<string, unknown> = {};
  const monitored: MonitorEvent[] = [];
  let refusal: Deny | null = null;
  let stage = 'intake';
  if (raw !== null && !overflow) {
    for (const inspect of snap.malformedInspectors) {
      const v = inspect(raw, id);
      if (v === null) continue;
      annotations[v.stage] = v.annotation;
      if (v.monitor) monitored.push(v.monitor);
      if (v.deny) {
        refusal = v.deny;
        stage = v.stage;
        break;
      }
    }
  }
  const code: ErrorCode = refusal?.code ?? (overflow ? 'PC_ERR_HEADERS_TOO_LARGE' : 'PC_ERR_PROTOCOL');
  const status = refusal?.status ?? ERRORS[code].status;
  const reply = rawProblem(code, status, STATUS_CODES[status] ?? 'Error', id, snap.requestIdHeader);

  const m = host.services.metrics;
  const latencyMs = performance.now() - started;
  m.exchange('(none)', status, 'denied', listener.info.name, latencyMs / 1000, null, code);
  m.denials.inc({ stage, code });
  for (const e of monitored) m.monitored.inc({ stage: e.stage, code: e.code });

  const peerIp = peer.remoteAddress ?? '';
  const hostHeader = raw?.headers['host'];
  const record: AccessRecord = {
    time: Date.now(),
    id,
    clientIp: stripMapped(peerIp),
    method: raw?.method ?? null,
    host: typeof hostHeader === 'string' ? hostWithoutPort(hostHeader) : null,
    path: raw === null || raw.target === null ? null : raw.path,
    query: raw?.query ?? '',
    redact: snap.redactQuery,
    routeId: null,
    status,
    bytesIn: raw?.body.length ?? 0,
    bytesOut: Buffer.byteLength(reply),
    latencyMs,
    upstream: null,
    upstreamLatencyMs: null,
    consumer: null,
    tenant: null,
    outcome: { decision: 'denied', stage, code, reason: parserCode, errors: null },
    listener: listener.info.name,
    monitored,
    annotations,
  };
  host.accessLog()?.record(record);
  // abuse detection and alert rules count parser refusals like any other refused request
  for (const o of snap.observers) safe(() => o(record, null), host.services.logger);
  return reply;
}
