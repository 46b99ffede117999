/**
 * A raw HTTP/2 client for hostile tests: frames written on a socket, header blocks encoded as
 * HPACK literals (no Huffman, no indexing), so that a test can send what node:http2's client
 * refuses to send (connection-specific fields, bad or missing pseudo-headers, repeated fields).
 * It reads back frame headers and decodes only what tests assert on: RST_STREAM and GOAWAY error
 * codes, and the `:status` of a response (from the static table or a literal).
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { performance } from 'node:perf_hooks';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
/** RFC 9113 section 7 error codes the tests assert on. */
export const H2_CODE = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;
export const FLAG = { END_STREAM: 1, END_HEADERS: 4, ACK: 1 } as const;

/** An HPACK integer with an N-bit prefix (RFC 7541 section 5.1). */
function hpackInt(value: number, prefixBits: number, first: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v % 128) + 128);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A header block of literal fields without indexing, in the order given (names sent as given). */
export function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of fields) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    bytes.push(0x00, ...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v);
  }
  return Buffer.from(bytes);
}

/**
 * One header field as an HPACK literal with incremental indexing (RFC 7541 section 6.2.1): the
 * decoder stores it in its dynamic table, where `indexed(62)` (the newest entry) refers to it.
 */
export function indexedLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.from([0x40, ...hpackInt(n.length, 7, 0), ...n, ...hpackInt(v.length, 7, 0), ...v]);
}

/** `count` references to the HPACK table entry `index` (62: the newest dynamic entry). */
export function indexed(index: number, count = 1): Buffer {
  const one = hpackInt(index, 7, 0x80);
  const out = Buffer.alloc(one.length * count);
  for (let i = 0; i < count; i++) out.set(one, i * one.length);
  return out;
}

/** RST_STREAM, WINDOW_UPDATE and GOAWAY payloads: one 32-bit value. */
export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([h, payload]);
}

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

/** What the server sent on one stream (and the connection). */
export interface StreamOutcome {
  /** `:status` of the response, or null when none came */
  status: number | null;
  /** RST_STREAM error code on the stream, or null */
  reset: number | null;
  /** GOAWAY error code, or null */
  goaway: number | null;
  /** DATA payloads of the stream, concatenated */
  body: Buffer;
}

/** `:status` of a response header block: an indexed static-table entry or a literal. */
function statusOf(block: Buffer): number | null {
  const b = block[0];
  if (b === undefined) return null;
  const STATIC: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };
  if (b & 0x80) return STATIC[b & 0x7f] ?? null;
  // literal with an indexed name (:status is static index 8..14): 4-bit (0000/0001) or 6-bit (01) prefix
  const nameIndex = (b & 0xc0) === 0x40 ? b & 0x3f : b & 0x0f;
  if (nameIndex < 8 || nameIndex > 14) return null;
  const len = (block[1] ?? 0) & 0x7f;
  const value = block.subarray(2, 2 + len);
  return Number(((block[1] ?? 0) & 0x80) !== 0 ? huffmanDigits(value) : value.toString('latin1'));
}

/** HPACK Huffman codes of the ten digits (RFC 7541 Appendix B): all a status needs. */
const DIGIT_CODES: readonly string[] = ['00000', '00001', '00010', '011001', '011010', '011011', '011100', '011101', '011110', '011111'];

function huffmanDigits(b: Buffer): string {
  let bits = '';
  for (const x of b) bits += x.toString(2).padStart(8, '0');
  let out = '';
  let i = 0;
  for (;;) {
    const d = DIGIT_CODES.findIndex((c) => bits.startsWith(c, i));
    if (d < 0) return out; // the rest is EOS padding
    out += String(d);
    i += (DIGIT_CODES[d] as string).length;
  }
}

export interface RawH2Options {
  readonly port: number;
  /** TLS with ALPN h2 (certificate checked against `ca`), or cleartext prior knowledge */
  readonly tls?: { readonly ca: string | Buffer };
  /** the client's source address (any 127.0.0.0/8 address on Linux): another client to the gateway */
  readonly localAddress?: string;
}

/** Opens a connection, sends the preface and an empty SETTINGS frame. */
export async function rawH2Connect(o: RawH2Options): Promise<RawH2> {
  const socket: net.Socket = await new Promise((resolve, reject) => {
    const s =
      o.tls !== undefined
        ? tls.connect(
            {
              host: '127.0.0.1',
              port: o.port,
              servername: 'localhost',
              ca: o.tls.ca,
              ALPNProtocols: ['h2'],
              ...(o.localAddress ? { localAddress: o.localAddress } : {}),
            },
            () => resolve(s),
          )
        : net.connect({ port: o.port, host: '127.0.0.1', ...(o.localAddress ? { localAddress: o.localAddress } : {}) }, () => resolve(s));
    s.once('error', reject);
  });
  return new RawH2(socket);
}

export class RawH2 {
  readonly frames: Frame[] = [];
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const f: Frame = {
        type: this.buf[3] as number,
        flags: this.buf[4] as number,
        stream: this.buf.readUInt32BE(5) & 0x7fffffff,
        payload: this.buf.subarray(9, 9 + len),
      };
      this.buf = this.buf.subarray(9 + len);
      this.frames.push(f);
      // acknowledge the server's SETTINGS, as a client must
      if (f.type === FRAME.SETTINGS && (f.flags & FLAG.ACK) === 0 && !this.socket.destroyed) this.socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const fn of w) fn();
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  /** Sends a request's HEADERS (END_HEADERS; END_STREAM unless a body follows). */
  request(stream: number, fields: readonly (readonly [string, string])[], body?: Buffer): void {
    const end = body === undefined ? FLAG.END_STREAM : 0;
    this.write(frame(FRAME.HEADERS, FLAG.END_HEADERS | end, stream, headerBlock(fields)));
    if (body !== undefined) this.write(frame(FRAME.DATA, FLAG.END_STREAM, stream, body));
  }

  /** Waits until the stream ended (END_STREAM, RST_STREAM), a GOAWAY came, the socket closed or `ms` passed. */
  async outcome(stream: number, ms = 3000): Promise<StreamOutcome> {
    const deadline = Date.now() + ms;
    for (;;) {
      const o = this.read(stream);
      const ended = this.frames.some(
        (f) => f.stream === stream && ((f.flags & FLAG.END_STREAM) !== 0 || f.type === FRAME.RST_STREAM) && f.type !== FRAME.SETTINGS,
      );
      if (ended || o.goaway !== null || this.closed || Date.now() >= deadline) return o;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  private read(stream: number): StreamOutcome {
    const out: StreamOutcome = { status: null, reset: null, goaway: null, body: Buffer.alloc(0) };
    const body: Buffer[] = [];
    for (const f of this.frames) {
      if (f.type === FRAME.GOAWAY) out.goaway = f.payload.readUInt32BE(4);
      if (f.stream !== stream) continue;
      if (f.type === FRAME.HEADERS && out.status === null) out.status = statusOf(f.payload);
      else if (f.type === FRAME.RST_STREAM) out.reset = f.payload.readUInt32BE(0);
      else if (f.type === FRAME.DATA) body.push(f.payload);
    }
    out.body = Buffer.concat(body);
    return out;
  }

  /** The error code of the first GOAWAY received, or null. */
  goaway(): number | null {
    const g = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return g === undefined ? null : g.payload.readUInt32BE(4);
  }

  /**
   * Writes `next(i)` for i = 0, 1, ... as fast as the socket takes it (at most 256 KiB queued)
   * until the server closes the connection or `ms` passed. Returns when the first GOAWAY came and
   * when the socket closed, in ms after the flood started (null: not within `ms`).
   */
  async flood(next: (i: number) => Buffer, ms = 3000): Promise<FloodOutcome> {
    const started = performance.now();
    let goawayMs: number | null = null;
    let sent = 0;
    while (!this.closed && performance.now() - started < ms) {
      if (!this.socket.destroyed && this.socket.writableLength < 256 * 1024) this.socket.write(next(sent++));
      if (goawayMs === null && this.goaway() !== null) goawayMs = performance.now() - started;
      await new Promise<void>((r) => setImmediate(r));
    }
    if (goawayMs === null && this.goaway() !== null) goawayMs = performance.now() - started;
    return { goaway: this.goaway(), goawayMs, closedMs: this.closed ? performance.now() - started : null, batches: sent };
  }

  close(): void {
    this.socket.destroy();
  }
}

export interface FloodOutcome {
  /** GOAWAY error code, or null */
  readonly goaway: number | null;
  readonly goawayMs: number | null;
  readonly closedMs: number | null;
  /** batches written */
  readonly batches: number;
}
