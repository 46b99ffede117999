/**
 * Sends one request's bytes on a fresh TCP connection (node:net, so that malformed requests go
 * out unchanged) and reads one HTTP/1.x response: by Content-Length, chunked, or until the server
 * closes. Bounded: `timeoutMs` for the whole exchange, MAX_RESPONSE_BYTES of response kept.
 * Loopback only: the runner never sends anywhere else.
 */
import { connect } from 'node:net';

export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface RawResponse {
  readonly status: number;
  /** lower-case names, in order */
  readonly headers: readonly (readonly [string, string])[];
  /** the whole response as received (status line, headers, body), Latin-1 */
  readonly text: string;
}

export type Exchange = { readonly ok: true; readonly response: RawResponse } | { readonly ok: false; readonly error: string };

/** The end of the response in `buf`, or -1 while it is incomplete; `eof`: the server closed. */
export function responseEnd(buf: Buffer, method: string, eof: boolean): { end: number; status: number; headers: [string, string][] } | null {
  let start = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', start);
    if (headEnd < 0) return null;
    const head = buf.subarray(start, headEnd).toString('latin1');
    const lines = head.split('\r\n');
    const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(lines[0] ?? '');
    if (m === null) throw new Error(`unreadable status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
    const status = Number(m[1]);
    const headers: [string, string][] = [];
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers.push([l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim()]);
    }
    const bodyStart = headEnd + 4;
    // interim responses (100 Continue, 103 Early Hints) are followed by the real one
    if (status >= 100 && status < 200 && status !== 101) {
      start = bodyStart;
      continue;
    }
    if (method.toUpperCase() === 'HEAD' || status === 204 || status === 304 || status === 101) return { end: bodyStart, status, headers };
    const te = headers.find(([k]) => k === 'transfer-encoding')?.[1].toLowerCase() ?? '';
    if (te.includes('chunked')) {
      let p = bodyStart;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p);
        if (lineEnd < 0) return null;
        const size = Number.parseInt(buf.subarray(p, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '', 16);
        if (!Number.isFinite(size) || size < 0) throw new Error('unreadable chunk size');
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
          if (trailerEnd >= 0) return { end: trailerEnd + 4, status, headers };
          // no trailers: "0\r\n\r\n"
          if (buf.length >= lineEnd + 4 && buf.subarray(lineEnd, lineEnd + 4).toString('latin1') === '\r\n\r\n') return { end: lineEnd + 4, status, headers };
          return eof ? { end: buf.length, status, headers } : null;
        }
        p = lineEnd + 2 + size + 2;
        if (p > buf.length) return eof ? { end: buf.length, status, headers } : null;
      }
    }
    const cl = headers.find(([k]) => k === 'content-length');
    if (cl !== undefined) {
      const n = Number(cl[1]);
      if (!Number.isInteger(n) || n < 0) throw new Error('unreadable content-length');
      if (buf.length >= bodyStart + n) return { end: bodyStart + n, status, headers };
      return eof ? { end: buf.length, status, headers } : null;
    }
    return eof ? { end: buf.length, status, headers } : null;
  }
}

/** One exchange with 127.0.0.1:`port`. Never rejects: a failure is `{ok: false, error}`. */
export function exchange(port: number, bytes: Buffer, method: string, timeoutMs: number): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const sock = connect({ host: '127.0.0.1', port });
    const done = (r: Exchange): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const check = (eof: boolean): void => {
      const buf = Buffer.concat(chunks, size);
      try {
        const r = responseEnd(buf, method, eof || size >= MAX_RESPONSE_BYTES);
        if (r !== null) {
          done({ ok: true, response: { status: r.status, headers: r.headers, text: buf.subarray(0, r.end).toString('latin1') } });
          return;
        }
      } catch (e) {
        done({ ok: false, error: (e as Error).message });
        return;
      }
      if (eof) done({ ok: false, error: size === 0 ? 'connection closed without a response' : 'connection closed in the middle of the response' });
    };
    const timer = setTimeout(() => done({ ok: false, error: `no response within ${timeoutMs} ms` }), timeoutMs);
    // no half-close: go-ftw keeps its side open, and a server may treat an early FIN as an abort
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d: Buffer) => {
      if (size < MAX_RESPONSE_BYTES) {
        chunks.push(d);
        size += d.length;
      }
      check(false);
    });
    sock.on('end', () => check(true));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (size > 0) check(true);
      done({ ok: false, error: e.code ?? e.message });
    });
  });
}
