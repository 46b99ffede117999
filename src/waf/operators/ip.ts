/** IPv4/IPv6 parsing and CIDR matching (no DNS, pure). */

/** Parses a dotted IPv4 address into a 32-bit unsigned number, or -1. */
export function parseIPv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) return -1;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return -1;
    const n = Number(p);
    if (n > 255) return -1;
    v = v * 256 + n;
  }
  return v;
}

/** Parses an IPv6 address (with optional embedded IPv4 tail) into 8 16-bit groups, or null. */
export function parseIPv6(s: string): number[] | null {
  let str = s;
  if (str.startsWith('[') && str.endsWith(']')) str = str.slice(1, -1);
  const pct = str.indexOf('%');
  if (pct >= 0) str = str.slice(0, pct);
  if (!/^[0-9a-fA-F:.]+$/.test(str) || str.indexOf(':') < 0) return null;
  let tail: number[] = [];
  const lastColon = str.lastIndexOf(':');
  const last = str.slice(lastColon + 1);
  if (last.includes('.')) {
    const v4 = parseIPv4(last);
    if (v4 < 0) return null;
    tail = [(v4 >>> 16) & 0xffff, v4 & 0xffff];
    str = `${str.slice(0, lastColon + 1)}`;
    if (str.endsWith('::')) str += '';
    else str = str.slice(0, -1);
  }
  const dbl = str.indexOf('::');
  const parse = (x: string): number[] | null => {
    if (x === '') return [];
    const out: number[] = [];
    for (const g of x.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (dbl >= 0) {
    const a = parse(str.slice(0, dbl));
    const b = parse(str.slice(dbl + 2));
    if (a === null || b === null) return null;
    const fill = 8 - a.length - b.length - tail.length;
    if (fill < 0) return null;
    groups = [...a, ...new Array<number>(fill).fill(0), ...b, ...tail];
  } else {
    const a = parse(str);
    if (a === null) return null;
    groups = [...a, ...tail];
  }
  return groups.length === 8 ? groups : null;
}

export interface Cidr {
  readonly v6: boolean;
  /** v4: [addr]; v6: 8 groups */
  readonly addr: readonly number[];
  readonly bits: number;
}

export function parseCidr(s: string): Cidr {
  const slash = s.indexOf('/');
  const host = slash < 0 ? s : s.slice(0, slash);
  const v4 = parseIPv4(host);
  if (v4 >= 0) {
    const bits = slash < 0 ? 32 : Number(s.slice(slash + 1));
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`bad CIDR '${s}'`);
    return { v6: false, addr: [v4], bits };
  }
  const v6 = parseIPv6(host);
  if (v6 === null) throw new Error(`bad CIDR '${s}'`);
  const bits = slash < 0 ? 128 : Number(s.slice(slash + 1));
  if (!Number.isInteger(bits) || bits < 0 || bits > 128) throw new Error(`bad CIDR '${s}'`);
  return { v6: true, addr: v6, bits };
}

function v4In(ip: number, c: Cidr): boolean {
  if (c.bits === 0) return true;
  const shift = 32 - c.bits;
  return Math.floor(ip / 2 ** shift) === Math.floor(c.addr[0]! / 2 ** shift);
}

function v6In(g: readonly number[], c: Cidr): boolean {
  let bits = c.bits;
  for (let i = 0; i < 8 && bits > 0; i++) {
    const take = Math.min(16, bits);
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((g[i]! & mask) !== (c.addr[i]! & mask)) return false;
    bits -= take;
  }
  return true;
}

/** True when `ip` (v4 or v6 text) is in any of the CIDRs; IPv4-mapped IPv6 is checked as IPv4 too. */
export function ipInCidrs(ip: string, cidrs: readonly Cidr[]): boolean {
  const v4 = parseIPv4(ip);
  if (v4 >= 0) return cidrs.some((c) => !c.v6 && v4In(v4, c));
  const v6 = parseIPv6(ip);
  if (v6 === null) return false;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && (v6[5] === 0xffff || v6[5] === 0)) {
    const mapped = v6[6]! * 65536 + v6[7]!;
    if (cidrs.some((c) => !c.v6 && v4In(mapped, c))) return true;
  }
  return cidrs.some((c) => c.v6 && v6In(v6, c));
}
