/**
 * IP address lists (CIDR, IPv4 and IPv6) on node:net's BlockList. Pure apart from BlockList, which
 * is compiled once per list. Addresses are normalised, and clients keyed, by src/core/ip.ts.
 */
import { BlockList, isIP } from 'node:net';
import { normaliseIp } from '../../core/ip.js';

export interface ParsedCidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

/** Parses `1.2.3.0/24`, `2001:db8::/32` or a bare address; null when malformed. */
export function parseCidr(text: string): ParsedCidr | null {
  const slash = text.indexOf('/');
  const addr = normaliseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (addr === '') return null;
  const family = isIP(addr) as 4 | 6;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  return { address: addr, prefix, family };
}

/** A compiled list of CIDRs. */
export class IpList {
  readonly size: number;
  private readonly list = new BlockList();

  /** Throws Error naming the first malformed entry. */
  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const c = parseCidr(e);
      if (!c) throw new Error(`'${e}' is not an IP address or CIDR`);
      this.list.addSubnet(c.address, c.prefix, c.family === 4 ? 'ipv4' : 'ipv6');
    }
    this.size = entries.length;
  }

  /** `ip` must be normalised (normaliseIp). */
  has(ip: string): boolean {
    if (this.size === 0 || ip === '') return false;
    return this.list.check(ip, isIP(ip) === 4 ? 'ipv4' : 'ipv6');
  }
}
