/**
 * gRPC in the kernel: which wire a request speaks (gRPC over HTTP/2, gRPC-Web binary or text),
 * the mapping of the gateway's refusals (error code, HTTP status) to gRPC status codes, and the
 * shapes of a gRPC reply's end: a Trailers-Only response (HTTP 200, `grpc-status` and
 * `grpc-message` in the one HEADERS frame, END_STREAM), and gRPC-Web's trailer frame (flag 0x80,
 * the trailers as HTTP/1.1 header lines, in the body). docs/grpc.md has the table.
 */
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from './errors.js';

/** `grpc`: application/grpc over HTTP/2; `grpc-web`: binary gRPC-Web; `grpc-web-text`: base64 gRPC-Web. */
export type GrpcWire = 'grpc' | 'grpc-web' | 'grpc-web-text';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html). */
export const GRPC = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * The wire of a request from its Content-Type (`application/grpc`, `application/grpc+proto`,
 * `application/grpc-web+json`, `application/grpc-web-text`, ...), or null when it is not gRPC.
 */
export function grpcWireOf(contentType: string | undefined): GrpcWire | null {
  if (contentType === undefined || contentType.length < 16) return null;
  const ct = contentType.slice(0, 32).toLowerCase();
  if (!ct.startsWith('application/grpc')) return null;
  const rest = ct.slice(16);
  const next = rest.charCodeAt(0);
  // application/grpc, application/grpc+proto, application/grpc;charset=...
  if (rest === '' || next === 0x2b || next === 0x3b || next === 0x20) return 'grpc';
  if (rest.startsWith('-web-text')) return 'grpc-web-text';
  if (rest.startsWith('-web')) {
    const c = rest.charCodeAt(4);
    return Number.isNaN(c) || c === 0x2b || c === 0x3b || c === 0x20 ? 'grpc-web' : null;
  }
  return null;
}

/** Refusals whose gRPC status the HTTP status alone would get wrong. */
const BY_CODE: Partial<Record<ErrorCode, number>> = {
  PC_ERR_BODY_TOO_LARGE: GRPC.RESOURCE_EXHAUSTED, // as gRPC's own message-size limits
  PC_ERR_HEADERS_TOO_LARGE: GRPC.RESOURCE_EXHAUSTED,
  PC_ERR_REQUEST_TIMEOUT: GRPC.DEADLINE_EXCEEDED,
  PC_ERR_INTERNAL: GRPC.INTERNAL,
};

/** The gRPC status of a gateway refusal: by code where listed, else by HTTP status. */
export function grpcStatusOf(code: ErrorCode, status: number): number {
  const c = BY_CODE[code];
  if (c !== undefined) return c;
  switch (status) {
    case 401:
      return GRPC.UNAUTHENTICATED;
    case 403:
      return GRPC.PERMISSION_DENIED;
    case 404:
    case 405:
      return GRPC.UNIMPLEMENTED;
    case 408:
    case 504:
      return GRPC.DEADLINE_EXCEEDED;
    case 429:
      return GRPC.RESOURCE_EXHAUSTED;
    case 502:
    case 503:
      return GRPC.UNAVAILABLE;
    default:
      return status >= 400 && status < 500 ? GRPC.INVALID_ARGUMENT : GRPC.INTERNAL;
  }
}

/** `grpc-message` is percent-encoded UTF-8 (bytes outside 0x20-0x7E, and `%`). */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const b of Buffer.from(text, 'utf8'))
    out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** The Content-Type of a gRPC reply on `wire` (the request's own subtype, e.g. +proto, kept where it had one). */
export function grpcReplyType(wire: GrpcWire, requestType: string | undefined): string {
  const ct = (requestType ?? '').toLowerCase().split(';')[0]?.trim() ?? '';
  if (wire === 'grpc-web-text') return 'application/grpc-web-text';
  if (wire === 'grpc-web') return ct.startsWith('application/grpc-web') ? ct : 'application/grpc-web';
  return ct.startsWith('application/grpc') ? ct : 'application/grpc';
}

/** gRPC-Web's last frame: flag 0x80, the trailers as `name: value\r\n` lines (names lowercase). */
export function grpcWebTrailerFrame(trailers: Readonly<Record<string, string | readonly string[] | undefined>>): Buffer {
  let text = '';
  for (const k in trailers) {
    const v = trailers[k];
    if (v === undefined) continue;
    for (const x of typeof v === 'string' ? [v] : v) text += `${k.toLowerCase()}: ${x}\r\n`;
  }
  const body = Buffer.from(text, 'latin1');
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0x80;
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, 5);
  return frame;
}

/** What a gRPC refusal carries besides its status. */
export interface GrpcRefusal {
  readonly wire: GrpcWire;
  readonly grpcStatus: number;
  readonly message: string;
  /** the gateway's error code, sent as `pc-error-code` */
  readonly code: ErrorCode;
  /** response headers (request id, RateLimit, CORS, Retry-After, ...) */
  readonly headers: Readonly<Record<string, string>>;
  readonly http2: boolean;
}

interface Http2Respond {
  respond(headers: Record<string, string | number>, options: { endStream: boolean }): void;
  readonly headersSent: boolean;
}

/**
 * Writes a gRPC refusal as a Trailers-Only response: HTTP 200, the status in the headers and no
 * body (HTTP/2: one HEADERS frame with END_STREAM, which gRPC clients read as the trailers;
 * gRPC-Web: the headers, as its spec allows for Trailers-Only, and an empty body).
 */
export function writeGrpcRefusal(res: ServerResponse, r: GrpcRefusal): void {
  const headers: Record<string, string> = {};
  for (const k in r.headers) headers[k.toLowerCase()] = r.headers[k] as string;
  headers['content-type'] = grpcReplyType(r.wire, res.req.headers['content-type']);
  headers['grpc-status'] = String(r.grpcStatus);
  headers['grpc-message'] = encodeGrpcMessage(r.message);
  headers['pc-error-code'] = r.code;
  headers['cache-control'] = 'no-store';
  res.statusCode = 200;
  if (r.http2) {
    const stream = (res as unknown as { stream: Http2Respond }).stream;
    stream.respond({ ':status': 200, ...headers }, { endStream: true });
    return;
  }
  headers['content-length'] = '0';
  res.writeHead(200, headers);
  res.end();
}

/** The `grpc-message` of a refusal: the catalogue title, and the safe detail when there is one. */
export function grpcRefusalMessage(code: ErrorCode, detail: string | undefined): string {
  const title = ERRORS[code].title;
  return detail === undefined ? title : `${title}: ${detail}`;
}
