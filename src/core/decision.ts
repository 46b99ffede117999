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

/** `undefined` means continue. */
export type Decision = Deny | undefined;

export function deny(code: ErrorCode, extra?: Omit<Deny, 'code'>): Deny {
  return extra === undefined ? { code } : { code, ...extra };
}
