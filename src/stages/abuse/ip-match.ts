/**
 * IP address lists (CIDR, IPv4 and IPv6) on node:net's BlockList, and the client key of an address
 * (IPv6 grouped by network prefix). Pure apart from BlockList, which is compiled once per list.
 */
import { BlockList, isIP } from 'node:net';

/** '::ffff:1.2.3.4' -> '1.2.3.4'; strips an IPv6 zone id; lowercases. '' when not an IP. */
export function normaliseIp(raw: string): string {
  let ip = raw.trim().toLowerCase();
  const zone = ip.indexOf('%');
  if (zone >= 0) ip = ip.slice(0, zone);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4) ip = ip.slice(7);
  return isIP(ip) === 0 ? '' : ip;
}

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

/** Expands an IPv6 address into 8 16-bit groups; null when malformed. */
export function ipv6Groups(ip: string): number[] | null {
  if (isIP(ip) !== 6) return null;
  let text = ip;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    const p = last.split('.').map(Number);
    const hi = (((p[0] ?? 0) << 8) | (p[1] ?? 0)).toString(16);
    const lo = (((p[2] ?? 0) << 8) | (p[3] ?? 0)).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? 0 : 8 - h.length - r.length;
  const groups = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...r].map((g) => parseInt(g, 16));
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return null;
  return groups;
}

/**
 * The key a client is counted and banned under: the IPv4 address, or the IPv6 network of
 * `v6Prefix` bits written as `2001:db8:1:2::/64` (the full address when the prefix is 128).
 */
export function clientKeyForIp(raw: string, v6Prefix: number): string {
  const ip = normaliseIp(raw);
  if (ip === '') return raw.slice(0, 64);
  if (isIP(ip) === 4 || v6Prefix >= 128) return ip;
  const g = ipv6Groups(ip);
  if (!g) return ip;
  const out: string[] = [];
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, v6Prefix - i * 16));
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    out.push(((g[i] as number) & mask).toString(16));
  }
  // compress the trailing zero groups that the prefix cleared
  let keep = 8;
  while (keep > 0 && out[keep - 1] === '0') keep--;
  return `${out.slice(0, keep).join(':')}${keep < 8 ? '::' : ''}/${v6Prefix}`;
}
