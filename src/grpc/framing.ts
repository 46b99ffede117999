/**
 * gRPC's length-prefixed messages (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * each message is a 1-byte flag (bit 0: compressed; bit 7: gRPC-Web trailers), a 4-byte big-endian
 * length and that many bytes. The meter reads the prefixes as the bytes stream past (it never holds
 * a message back) and says when one is larger than allowed or malformed. Also the streaming base64
 * of gRPC-Web's text mode.
 */
import { Buffer } from 'node:buffer';

export type MeterVerdict = { readonly ok: true } | { readonly ok: false; readonly kind: 'too_large' | 'malformed'; readonly reason: string };

const OK: MeterVerdict = Object.freeze({ ok: true });

/** Reads message prefixes across chunks; pure state, no I/O. */
export class FrameMeter {
  /** prefix bytes still to read (0 while inside a message body) */
  private prefixLeft = 5;
  private readonly prefix = Buffer.alloc(5);
  /** body bytes left in the current message */
  private bodyLeft = 0;
  /** whole messages seen */
  messages = 0;

  constructor(
    private readonly maxBytes: number,
    /** flag bit 7 (a trailers frame) is allowed: only in a gRPC-Web response */
    private readonly trailersAllowed = false,
  ) {}

  /** Accounts for `chunk`; the first violation is final (the call ends). */
  push(chunk: Buffer): MeterVerdict {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, n - i);
        this.bodyLeft -= take;
        i += take;
        if (this.bodyLeft === 0) this.messages++;
        continue;
      }
      this.prefix[5 - this.prefixLeft] = chunk[i] as number;
      this.prefixLeft--;
      i++;
      if (this.prefixLeft > 0) continue;
      this.prefixLeft = 5;
      const flag = this.prefix[0] as number;
      const len = this.prefix.readUInt32BE(1);
      if ((flag & 0x7e) !== 0 || (flag & 0x80 && !this.trailersAllowed)) return { ok: false, kind: 'malformed', reason: `message flag 0x${flag.toString(16)}` };
      if (len > this.maxBytes) return { ok: false, kind: 'too_large', reason: `message of ${len} bytes over the ${this.maxBytes}-byte limit` };
      if (len === 0) this.messages++;
      else this.bodyLeft = len;
    }
    return OK;
  }

  /** The stream ended on a message boundary (a truncated message is malformed). */
  get atBoundary(): boolean {
    return this.bodyLeft === 0 && this.prefixLeft === 5;
  }
}

/** Decodes base64 that arrives in arbitrary pieces (gRPC-Web text: padded groups may follow one another). */
export class Base64Decoder {
  private rest = '';

  /** The bytes decoded so far, or null when the text is not base64. */
  push(chunk: Buffer): Buffer | null {
    const text = this.rest + chunk.toString('latin1').replace(/[\r\n]/g, '');
    if (!/^[A-Za-z0-9+/=]*$/.test(text)) return null;
    const whole = text.length - (text.length % 4);
    this.rest = text.slice(whole);
    const parts: Buffer[] = [];
    // each group of 4 decodes on its own, so padding in the middle (concatenated segments) is read right
    let start = 0;
    for (let k = 0; k < whole; k += 4) {
      if (text.charCodeAt(k + 3) === 0x3d) {
        parts.push(Buffer.from(text.slice(start, k + 4), 'base64'));
        start = k + 4;
      }
    }
    if (start < whole) parts.push(Buffer.from(text.slice(start, whole), 'base64'));
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /** Nothing is left over (the text was whole groups of four). */
  get complete(): boolean {
    return this.rest === '';
  }
}
