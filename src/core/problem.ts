/**
 * Local replies: RFC 9457 application/problem+json with the stable code and the request id.
 * Never internal detail, stack traces or echoed input.
 */
import { Buffer } from 'node:buffer';
import type { ServerResponse } from 'node:http';
import { ERRORS, type ErrorCode } from './errors.js';
import type { ProblemItem } from './decision.js';

export const PROBLEM_TYPE_BASE = 'urn:portcullis:problem:';
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  request_id: string;
  detail?: string;
  errors?: ProblemItem[];
}

export function problemBody(code: ErrorCode, status: number, requestId: string, detail?: string, errors?: readonly ProblemItem[]): string {
  const body: ProblemBody = { type: PROBLEM_TYPE_BASE + code, title: ERRORS[code].title, status, code, request_id: requestId };
  if (detail !== undefined) body.detail = detail;
  if (errors !== undefined && errors.length > 0) body.errors = errors.slice(0, 50);
  return JSON.stringify(body);
}

/** Writes a problem reply; `headers` are set first (Retry-After, WWW-Authenticate, Allow, ...). */
export function writeProblem(
  res: ServerResponse,
  code: ErrorCode,
  status: number,
  requestId: string,
  headers: Readonly<Record<string, string>> | null,
  detail?: string,
  errors?: readonly ProblemItem[],
): number {
  const text = problemBody(code, status, requestId, detail, errors);
  const len = Buffer.byteLength(text);
  if (headers) for (const k in headers) res.setHeader(k, headers[k] as string);
  res.setHeader('content-type', 'application/problem+json');
  res.setHeader('content-length', len);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  res.statusCode = status;
  res.end(res.req.method === 'HEAD' ? undefined : text);
  return len;
}

/**
 * A raw HTTP/1.1 problem reply for a socket whose request could not be parsed (clientError).
 * With a request id, `idHeader` names the response header that carries it too.
 */
export function rawProblem(code: ErrorCode, status: number, reason: string, requestId = '-', idHeader: string | null = null): string {
  const text = problemBody(code, status, requestId);
  const idLine = idHeader !== null && HEADER_NAME.test(idHeader) ? `${idHeader}: ${requestId}\r\n` : '';
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${idLine}Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${text}`;
}
