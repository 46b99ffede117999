/**
 * Client IP resolution. A forwarding header is believed only when the TCP peer is a trusted
 * proxy, and only one header is ever read: `client_ip.header`, X-Forwarded-For or Forwarded
 * (RFC 7239); the other one plays no part. The client is the right-most address of that header
 * that is not itself a trusted proxy (RFC 7239 section 7.4; as Envoy's xff_num_trusted_hops and
 * nginx's real_ip). An entry that is not an address (`unknown`, an obfuscated node, a typo) stops
 * the walk: nothing left of it is believed, and the client is the peer. Repeated header lines
 * are read in order, as one list (Node joins them so).
 */
import { BlockList, isIP } from 'node:net';
import { normaliseIp } from '../core/ip.js';

export type ForwardingHeader = 'x-forwarded-for' | 'forwarded';

export class TrustedProxies {
  private readonly list: BlockList;
  readonly empty: boolean;
  /** the one forwarding header read from trusted peers (lowercase, as Node names incoming headers) */
  readonly header: ForwardingHeader;

  constructor(cidrs: readonly string[], header: ForwardingHeader = 'x-forwarded-for') {
    this.list = new BlockList();
    this.empty = cidrs.length === 0;
    this.header = header;
    for (const c of cidrs) {
      const [addr, bits] = c.split('/');
      const type = isIP(addr ?? '') === 6 ? 'ipv6' : 'ipv4';
      if (!addr || isIP(addr) === 0) throw new Error(`invalid CIDR '${c}'`);
      if (bits === undefined) this.list.addAddress(addr, type);
      else {
        const n = Number(bits);
        if (!Number.isInteger(n) || n < 0 || n > (type === 'ipv4' ? 32 : 128)) throw new Error(`invalid CIDR '${c}'`);
        this.list.addSubnet(addr, n, type);
      }
    }
  }

  has(ip: string): boolean {
    if (this.empty || ip === '') return false;
    const plain = stripMapped(ip);
    const type = isIP(plain);
    if (type === 0) return false;
    return this.list.check(plain, type === 6 ? 'ipv6' : 'ipv4');
  }
}

/** ::ffff:1.2.3.4 -> 1.2.3.4 (the form Node gives a socket's IPv4 peer on a dual-stack listener) */
export function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

/** The client as the gateway reads it: its address and, from a believed Forwarded element, the proto and host it used. */
export interface ClientHop {
  /** normalised (src/core/ip.ts normaliseIp) */
  readonly ip: string;
  /** a URI scheme, lowercase; null when the element had none (or one that is not a scheme) */
  readonly proto: string | null;
  /** `name[:port]` or `[v6][:port]`; null when the element had none (or an invalid one) */
  readonly host: string | null;
}

/** Splits at `sep` outside RFC 9110 quoted strings (with their backslash escapes). */
function splitOutsideQuotes(s: string, sep: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === sep) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** an unquoted value: a token, leniently with the `[`, `]` and `:` of an unquoted IPv6 node */
const BARE_VALUE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z:[\]]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]{0,15}$/;
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;
const PORT = /^(?:\d{1,5}|_[A-Za-z0-9._-]+)$/;
const IPV4_PORT = /^(\d{1,3}(?:\.\d{1,3}){3}):([^:]+)$/;

/** A parameter value (token or quoted-string) as text; null when malformed. */
function paramValue(v: string): string | null {
  if (!v.startsWith('"')) return BARE_VALUE.test(v) ? v : null;
  if (v.length < 2 || !v.endsWith('"')) return null;
  let out = '';
  for (let i = 1; i < v.length - 1; i++) {
    let c = v[i] as string;
    if (c === '"') return null;
    if (c === '\\') {
      if (i + 1 >= v.length - 1) return null;
      c = v[++i] as string;
    }
    out += c;
  }
  return out;
}

/** The address of an RFC 7239 node (`1.2.3.4`, `1.2.3.4:80`, `[2001:db8::1]:80`); '' for `unknown`, obfuscated or malformed nodes. */
function nodeIp(node: string): string {
  if (node.startsWith('[')) {
    const close = node.indexOf(']');
    if (close < 0) return '';
    const rest = node.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1)))) return '';
    const ip = node.slice(1, close);
    return isIP(ip) === 6 ? normaliseIp(ip) : '';
  }
  if (isIP(node) !== 0) return normaliseIp(node);
  const m = IPV4_PORT.exec(node);
  return m && PORT.test(m[2] as string) && isIP(m[1] as string) === 4 ? (m[1] as string) : '';
}

/** One Forwarded element; null when it is not a well-formed element with one usable `for`. */
function forwardedHop(element: string): ClientHop | null {
  let node: string | null = null;
  let proto: string | null = null;
  let host: string | null = null;
  for (const raw of splitOutsideQuotes(element, ';')) {
    const pair = raw.trim();
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) return null;
    const name = pair.slice(0, eq).toLowerCase();
    const value = paramValue(pair.slice(eq + 1));
    if (value === null || !TOKEN.test(name)) return null;
    // each parameter at most once per element (RFC 7239 section 4): a second one is ambiguous
    if (name === 'for') {
      if (node !== null) return null;
      node = value;
    } else if (name === 'proto') {
      if (proto !== null) return null;
      proto = value;
    } else if (name === 'host') {
      if (host !== null) return null;
      host = value;
    }
  }
  if (node === null) return null;
  const ip = nodeIp(node);
  if (ip === '') return null;
  return { ip, proto: proto !== null && SCHEME.test(proto) ? proto.toLowerCase() : null, host: host !== null && HOST.test(host) ? host : null };
}

/**
 * The client of a request whose TCP peer is `peer`, given the value(s) of the configured
 * forwarding header (`trusted.header`): the peer itself unless it is a trusted proxy; then the
 * right-most entry that is not a trusted proxy, the left-most when all are; the peer again when
 * the header is absent or an entry on the way is not an address.
 */
export function resolveClientHop(peer: string, value: string | string[] | undefined, trusted: TrustedProxies): ClientHop {
  const p = stripMapped(peer);
  const self: ClientHop = { ip: p, proto: null, host: null };
  if (value === undefined || !trusted.has(p)) return self;
  const text = Array.isArray(value) ? value.join(',') : value;
  let leftmost: ClientHop = self;
  if (trusted.header === 'x-forwarded-for') {
    const chain = text.split(',');
    for (let i = chain.length - 1; i >= 0; i--) {
      const ip = normaliseIp(chain[i] as string);
      if (ip === '') return self; // garbage in the chain: do not believe anything left of it
      leftmost = { ip, proto: null, host: null };
      if (!trusted.has(ip)) return leftmost;
    }
    return leftmost;
  }
  const elements = splitOutsideQuotes(text, ',');
  for (let i = elements.length - 1; i >= 0; i--) {
    const hop = forwardedHop(elements[i] as string);
    if (hop === null) return self;
    leftmost = hop;
    if (!trusted.has(hop.ip)) return hop;
  }
  return leftmost;
}

/** resolveClientHop's address. */
export function resolveClientIp(peer: string, value: string | string[] | undefined, trusted: TrustedProxies): string {
  return resolveClientHop(peer, value, trusted).ip;
}
