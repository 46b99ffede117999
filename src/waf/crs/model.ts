/**
 * The request and response as the CRS engine sees them. Every string is one character per byte
 * (latin1), as ModSecurity works on bytes: text the gateway decoded as UTF-8 is re-encoded to its
 * bytes by the adapter (adapter.ts).
 */
import type { Pair } from '../../core/reading.js';

/** A body processor's name, as `REQBODY_PROCESSOR` holds it. */
export type BodyProcessor = 'URLENCODED' | 'MULTIPART' | 'JSON' | 'XML';

/** One part of a multipart body. */
export interface CrsPart {
  /** the part's field name */
  readonly name: string;
  /** the file name, or null for a field */
  readonly filename: string | null;
  /** the part's header lines as `Name: value` */
  readonly headers: readonly string[];
  /** the part's content */
  readonly value: string;
}

/**
 * What a body processor read. `args` become ARGS_POST (JSON: `json.a.b`, `json.list.0`); the
 * parts become FILES, FILES_NAMES, MULTIPART_PART_HEADERS; `xml` the document's text for `XML:/*`.
 */
export interface CrsBodyReading {
  readonly args: readonly Pair[];
  readonly parts: readonly CrsPart[];
  /** the document (XML processor) */
  readonly xml: string | null;
  /** the reason the processor refused the body (REQBODY_ERROR = 1), or null */
  readonly error: string | null;
  /** MULTIPART_* flags the reader raised (e.g. MULTIPART_STRICT_ERROR: '1') */
  readonly multipartFlags?: Readonly<Record<string, string>>;
}

/** A request, read once. */
export interface CrsRequest {
  readonly method: string;
  /** the request target as received: path and query, undecoded */
  readonly uri: string;
  /** e.g. 'HTTP/1.1' */
  readonly protocol: string;
  /** header lines in order, names as received (Node gives them lowercase) */
  readonly headers: readonly Pair[];
  /** ARGS_GET, decoded */
  readonly queryArgs: readonly Pair[];
  /** the raw body, or '' */
  readonly body: string;
  /**
   * the processor Content-Type selects (as modsecurity.conf's rules 200000/200001 and the
   * built-in URLENCODED/MULTIPART choice do), or null
   */
  readonly bodyProcessor: BodyProcessor | null;
  /**
   * Reads the body with a processor (the one chosen, or the one a `ctl:requestBodyProcessor`
   * asked for). The adapter answers from the gateway's reading when it read the body that way.
   */
  readonly readBody: (processor: BodyProcessor) => CrsBodyReading;
  readonly remoteAddr: string;
  readonly remotePort: number;
  readonly serverAddr: string;
  readonly serverPort: number;
  /** SERVER_NAME (the Host header's name by default) */
  readonly serverName: string;
}

/** Response line and headers (phase 3). */
export interface CrsResponseHead {
  readonly status: number;
  readonly protocol: string;
  readonly headers: readonly Pair[];
}
