/**
 * SSRF: URL-like values whose host is a loopback, private, link-local, metadata or otherwise
 * internal address, in any spelling an HTTP client accepts: dotted, decimal (2130706433), hex
 * (0x7f000001), octal (0177.0.0.1), short (127.1), IPv6 ([::1], [::ffff:127.0.0.1], [::ffff:7f00:1]),
 * and names (localhost, metadata.google.internal). Also flags schemes that only serve SSRF (gopher,
 * dict, ldap, ...). Pure; no DNS.
 */
import { ipInCidrs, parseCidr, parseIPv6 } from '../operators/ip.js';

const INTERNAL = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '::/128',
  '::1/128',
  'fc00::/7',
  'fe80::/10',
  'fd00:ec2::254/128',
].map(parseCidr);

const INTERNAL_NAMES = [
  'localhost',
  'localhost.localdomain',
  'metadata.google.internal',
  'metadata',
  'instance-data',
  'metadata.azure.com',
  'kubernetes.default',
  'kubernetes.default.svc',
  'ip6-localhost',
  'ip6-loopback',
  'localtest.me',
  'lvh.me',
  'vcap.me',
  'fbi.com',
];
const INTERNAL_SUFFIXES = ['.localhost', '.internal', '.local', '.svc.cluster.local', '.localtest.me', '.nip.io', '.xip.io', '.sslip.io'];

const DANGEROUS_SCHEMES = [
  'gopher',
  'dict',
  'ldap',
  'ldaps',
  'tftp',
  'jar',
  'netdoc',
  'sftp',
  'expect',
  'php',
  'phar',
  'file',
  'zip',
  'data',
  'glob',
  'ssh2',
  'rar',
  'ogg',
];

const URL_RE = /([a-z][a-z0-9+.-]{1,15}):\/\/([^\s/?#"'<>\\]{1,300})/g;

function parsePart(p: string): number {
  if (p === '') return -1;
  if (/^0x[0-9a-f]{1,8}$/.test(p)) return parseInt(p.slice(2), 16);
  if (/^0[0-7]+$/.test(p)) return parseInt(p, 8);
  if (/^\d{1,10}$/.test(p)) return Number(p);
  return -1;
}

/** inet_aton: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); returns the address or -1. */
export function inetAton(host: string): number {
  // every part is digits, or 0x and hex digits: a host with any other character is a name
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || c === 0x78 || c === 0x2e)) return -1;
  }
  const parts = host.split('.');
  if (parts.length < 1 || parts.length > 4) return -1;
  const nums = parts.map(parsePart);
  if (nums.some((x) => x < 0)) return -1;
  const last = nums[nums.length - 1]!;
  let v = 0;
  for (let i = 0; i < nums.length - 1; i++) {
    if (nums[i]! > 255) return -1;
    v = v * 256 + nums[i]!;
  }
  const rest = 4 - (nums.length - 1);
  if (last >= 2 ** (8 * rest)) return -1;
  return v * 2 ** (8 * rest) + last;
}

function v4text(n: number): string {
  return `${Math.floor(n / 16777216) % 256}.${Math.floor(n / 65536) % 256}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

/** Is this host (as written in a URL authority, without userinfo/port) internal? Returns why, or null. */
export function internalHost(hostIn: string): string | null {
  let host = hostIn.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host.startsWith('[')) {
    const g = parseIPv6(host);
    if (g === null) return null;
    const txt = host.slice(1, -1);
    return ipInCidrs(txt, INTERNAL) ? `internal IPv6 ${txt}` : null;
  }
  if (INTERNAL_NAMES.includes(host)) return `internal name ${host}`;
  for (const s of INTERNAL_SUFFIXES) if (host.endsWith(s)) return `internal name ${host}`;
  const v4 = inetAton(host);
  if (v4 >= 0) {
    const t = v4text(v4);
    return ipInCidrs(t, INTERNAL) ? `internal address ${t}${t !== host ? ` (written ${host})` : ''}` : null;
  }
  return null;
}

export function detectSsrf(value: string): string | null {
  if (value.indexOf('://') < 0) return null;
  URL_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let count = 0;
  while ((m = URL_RE.exec(value)) !== null && count++ < 32) {
    const scheme = m[1]!.toLowerCase();
    if (DANGEROUS_SCHEMES.includes(scheme) && scheme !== 'file' && scheme !== 'data') return `${scheme}:// URL`;
    let auth = m[2]!;
    const at = auth.lastIndexOf('@');
    if (at >= 0) auth = auth.slice(at + 1);
    let host = auth;
    if (auth.startsWith('[')) {
      const e = auth.indexOf(']');
      host = e < 0 ? auth : auth.slice(0, e + 1);
    } else {
      const colon = auth.indexOf(':');
      if (colon >= 0) host = auth.slice(0, colon);
    }
    const why = internalHost(host);
    if (why !== null) return `URL to ${why}`;
  }
  return null;
}

/** SSRF for free-text fields: only when the whole value is one URL (a URL-valued field). */
export function detectSsrfUrlValue(value: string): string | null {
  const t = value.trim();
  if (!/^[a-z][a-z0-9+.-]{1,15}:\/\/\S{1,2048}$/.test(t)) return null;
  return detectSsrf(t);
}
