/**
 * IP addresses as the gateway keys clients: one normal form per address (IPv4-mapped IPv6 as the
 * IPv4 address, IPv6 in RFC 5952 text), and the client key that rate limits, quotas, concurrency
 * limits, abuse counters and bans all count a client under: the address's network of
 * `client_ip.ipv4_prefix` / `client_ip.ipv6_prefix` bits. Pure.
 */
import { isIP } from 'node:net';

/** Expands an IPv6 address into 8 16-bit groups; null when malformed. Read in one pass: it runs per request for IPv6 clients. */
export function ipv6Groups(ip: string): number[] | null {
  return isIP(ip) === 6 ? validGroups(ip) : null;
}

/** ipv6Groups of an address isIP accepted as IPv6. */
function validGroups(ip: string): number[] | null {
  // valid from here on: hex groups separated by ':', at most one '::', maybe a dotted IPv4 tail
  let end = ip.length;
  const zone = ip.indexOf('%');
  if (zone >= 0) end = zone;
  const head: number[] = [];
  const tail: number[] = [];
  let cur = head;
  let v = 0;
  let digits = 0;
  for (let i = 0; i < end; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x3a) {
      if (digits > 0) cur.push(v);
      v = 0;
      digits = 0;
      if (ip.charCodeAt(i + 1) === 0x3a) {
        cur = tail;
        i++;
      }
    } else if (c === 0x2e) {
      // a dotted IPv4 tail: the digits read so far were decimal, read the rest as such
      const p = ip.slice(i - digits, end).split('.');
      cur.push((Number(p[0]) << 8) | Number(p[1]), (Number(p[2]) << 8) | Number(p[3]));
      digits = 0;
      break;
    } else {
      v = v * 16 + (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57);
      digits++;
    }
  }
  if (digits > 0) cur.push(v);
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (cur === head && fill !== 0)) return null;
  const out = head;
  for (let k = 0; k < fill; k++) out.push(0);
  for (const g of tail) out.push(g);
  return out;
}

/** 8 groups in RFC 5952 text: lowercase, no leading zeros, the first longest run of 2+ zero groups as `::`. */
export function formatIpv6(g: readonly number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += (g[i] as number).toString(16);
  }
  return out;
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:0:0/96) carries, else null. */
function mappedIpv4(g: readonly number[]): string | null {
  if (g[0] !== 0 || g[1] !== 0 || g[2] !== 0 || g[3] !== 0 || g[4] !== 0 || g[5] !== 0xffff) return null;
  const a = g[6] as number;
  const b = g[7] as number;
  return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
}

/**
 * The one text of an address: brackets, an IPv6 zone id and surrounding spaces removed; an
 * IPv4-mapped IPv6 address (any spelling: `::ffff:1.2.3.4`, `::FFFF:102:304`,
 * `0:0:0:0:0:ffff:1.2.3.4`) as the IPv4 address; other IPv6 addresses in RFC 5952 text.
 * '' when `raw` is not an IP address.
 */
export function normaliseIp(raw: string): string {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family === 0) return '';
  const g = validGroups(ip);
  if (g === null) return '';
  return mappedIpv4(g) ?? formatIpv6(g);
}

/** The network prefixes clients are keyed by (`client_ip.ipv4_prefix`, `client_ip.ipv6_prefix`). */
export interface ClientPrefixes {
  readonly ipv4_prefix: number;
  readonly ipv6_prefix: number;
}

/** /32: an IPv4 address is one client (or one NAT); /64: the block one IPv6 subscriber is given. */
export const DEFAULT_PREFIXES: ClientPrefixes = Object.freeze({ ipv4_prefix: 32, ipv6_prefix: 64 });

/**
 * The key a client is counted, limited and banned under: its address's network of the configured
 * prefix, written `1.2.3.4` (a whole IPv4 address), `1.2.3.0/24`, `2001:db8:1:2::/64` or
 * `2001:db8::1` (a whole IPv6 address). Every spelling of one address gives one key; an
 * IPv4-mapped IPv6 address keys as its IPv4 address. A string that is not an IP address is its
 * own key (at most 64 characters).
 */
export function clientKey(raw: string, p: ClientPrefixes): string {
  const ip = normaliseIp(raw);
  if (ip === '') return raw.slice(0, 64);
  if (isIP(ip) === 4) {
    const bits = p.ipv4_prefix;
    if (bits >= 32) return ip;
    const parts = ip.split('.').map(Number);
    const n = (((parts[0] as number) << 24) | ((parts[1] as number) << 16) | ((parts[2] as number) << 8) | (parts[3] as number)) >>> 0;
    const m = bits === 0 ? 0 : (n & (0xffffffff << (32 - bits))) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 0xff}.${(m >>> 8) & 0xff}.${m & 0xff}/${bits}`;
  }
  const bits = p.ipv6_prefix;
  if (bits >= 128) return ip;
  const g = ipv6Groups(ip) as number[];
  const masked: number[] = [];
  for (let i = 0; i < 8; i++) {
    const b = Math.max(0, Math.min(16, bits - i * 16));
    masked.push((g[i] as number) & (b === 0 ? 0 : (0xffff << (16 - b)) & 0xffff));
  }
  return `${formatIpv6(masked)}/${bits}`;
}

/**
 * The client keys of one config snapshot, for the request path: a plain IPv4 address keyed by
 * itself costs one check, and the last key computed is remembered (consecutive requests of one
 * client, or several limits of one request, compute it once).
 */
export class ClientKeys {
  readonly prefixes: ClientPrefixes;
  private lastIp = '';
  private lastKey = '';

  constructor(prefixes: ClientPrefixes = DEFAULT_PREFIXES) {
    this.prefixes = prefixes;
  }

  /** clientKey(ip, prefixes) */
  of(ip: string): string {
    // the usual case: a client IP (always an address or '') without ':' is an IPv4 address
    if (this.prefixes.ipv4_prefix >= 32 && ip.length <= 15 && ip.indexOf(':') < 0) return ip;
    if (ip === this.lastIp) return this.lastKey;
    const k = clientKey(ip, this.prefixes);
    this.lastIp = ip;
    this.lastKey = k;
    return k;
  }
}
