/**
 * Client IP resolution: forwarding headers are believed only when the TCP peer is a trusted
 * proxy; then the client is the right-most address in X-Forwarded-For (or Forwarded) that is
 * not itself a trusted proxy (RFC 7239 section 7.4; as Envoy's xff_num_trusted_hops / nginx real_ip).
 */
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  private readonly list: BlockList;
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    this.list = new BlockList();
    this.empty = cidrs.length === 0;
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

/** ::ffff:1.2.3.4 -> 1.2.3.4 */
export function stripMapped(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

function parseForwardedFor(v: string): string[] {
  const out: string[] = [];
  for (const el of v.split(',')) {
    for (const pair of el.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let val = pair.slice(eq + 1).trim().replace(/^"|"$/g, '');
      if (val.startsWith('[')) val = val.slice(1, val.indexOf(']'));
      else if (val.includes('.') && val.includes(':')) val = val.slice(0, val.indexOf(':'));
      out.push(val);
    }
  }
  return out;
}

/** The client IP for a request whose TCP peer is `peer`. */
export function resolveClientIp(
  peer: string,
  xff: string | string[] | undefined,
  forwarded: string | string[] | undefined,
  trusted: TrustedProxies,
): string {
  const p = stripMapped(peer);
  if (!trusted.has(p)) return p;
  let chain: string[];
  if (xff !== undefined) chain = (Array.isArray(xff) ? xff.join(',') : xff).split(',').map((s) => s.trim());
  else if (forwarded !== undefined) chain = parseForwardedFor(Array.isArray(forwarded) ? forwarded.join(',') : forwarded);
  else return p;
  for (let i = chain.length - 1; i >= 0; i--) {
    const ip = stripMapped(chain[i] as string);
    if (isIP(ip) === 0) return p; // garbage in the chain: do not believe anything left of it
    if (!trusted.has(ip)) return ip;
  }
  return stripMapped((chain[0] as string | undefined) ?? p);
}
