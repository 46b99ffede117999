import type { Buffer } from 'node:buffer';
import type { Readable } from 'node:stream';
import type { ErrorCode } from './errors.js';

/** One violation listed in a problem reply (validation errors). */
export interface ProblemItem {
  /** JSON pointer or location, e.g. `/body/items/0/price` or `query.limit` */
  readonly pointer: string;
  readonly reason: string;
}

/** A stage's refusal. Only the pipeline turns it into a reply. */
export interface Deny {
  readonly code: ErrorCode;
  /** defaults to the catalogue's status for the code */
  readonly status?: number;
  /** extra response headers (WWW-Authenticate, Retry-After, Allow, ...) */
  readonly headers?: Readonly<Record<string, string>>;
  /** short, safe, client-facing explanation; never internal detail or echoed input */
  readonly detail?: string;
  readonly errors?: readonly ProblemItem[];
  /** reason for logs and metrics only (never sent to the client, never a secret) */
  readonly reason?: string;
}

/**
 * A stage's own answer to the request (a cache hit, a CORS preflight, a mock, a redirect): the
 * pipeline writes it as the response, with the request id and the headers stages added, and the
 * upstream is not contacted.
 */
export interface Respond {
  readonly kind: 'respond';
  readonly status: number;
  /** response headers (lowercase names); Content-Length is set from a Buffer or string body */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  /** the body, from memory or a stream; none for HEAD, 204 and 304 */
  readonly body?: Buffer | string | Readable | null;
  /** reason for logs and metrics only */
  readonly reason?: string;
}

/**
 * A respond-phase stage's tap on a streamed upstream body (a cache storing it): it sees every
 * chunk as it goes to the client, never holds the stream back, and learns how the body ended.
 */
export interface BodyTap {
  readonly kind: 'tap';
  /** a chunk on its way to the client; false: stop tapping (too large to keep) */
  chunk(b: Buffer): boolean;
  /** the body arrived whole */
  end(): void;
  /** the exchange failed or the client left first: what was tapped is incomplete */
  abort(): void;
}

/** `undefined` means continue; a Deny refuses with a problem reply; a Respond answers. */
export type Decision = Deny | Respond | undefined;

export function deny(code: ErrorCode, extra?: Omit<Deny, 'code'>): Deny {
  return extra === undefined ? { code } : { code, ...extra };
}

export function respond(status: number, extra?: Omit<Respond, 'kind' | 'status'>): Respond {
  return extra === undefined ? { kind: 'respond', status } : { kind: 'respond', status, ...extra };
}

/** Whether a decision is a stage's own response (not a refusal). */
export function isRespond(d: Deny | Respond): d is Respond {
  return (d as Respond).kind === 'respond';
}
