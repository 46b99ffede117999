/**
 * X.501 distinguished names as structures: a sequence of RDNs, each a set of attribute type
 * (OID) / value pairs. Read from a certificate's DER (Node's peer certificate object flattens
 * `CN=billing+O=Acme` into `{CN, O}`, which reads like `CN=billing,O=Acme`) and from RFC 4514
 * strings in config; compared by `dnKey`, so that a multi-valued RDN never equals two RDNs, RDN
 * order counts, and the order of the attributes inside one RDN does not.
 *
 * Values: attribute types are compared as OIDs (names are case-insensitive aliases), values as
 * decoded text, case-sensitively (as the subject matching before it); a value of a type that is
 * not a string is kept as the hex of its BER encoding (RFC 4514 `#hex`).
 */
import { Buffer } from 'node:buffer';

export interface Ava {
  /** dotted OID */
  readonly oid: string;
  /** decoded text, or the hex of the BER encoding when `ber` */
  readonly value: string;
  readonly ber: boolean;
}

/** RDNs in certificate (DER) order, the most general first (`C`, `O`, ..., `CN`). */
export type DistinguishedName = readonly (readonly Ava[])[];

export class DnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DnError';
  }
}

/** OID → the name written in RFC 4514 strings (OpenSSL's short names, as Node printed them). */
const NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.41': 'name',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationQualifier',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.3.6.1.4.1.311.60.2.1.1': 'jurisdictionL',
  '1.3.6.1.4.1.311.60.2.1.2': 'jurisdictionST',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

/** Attribute names accepted in config (uppercase) → OID: the names above and RFC 4514/OpenSSL long forms. */
const OIDS: ReadonlyMap<string, string> = new Map([
  ...Object.entries(NAMES).map(([oid, n]) => [n.toUpperCase(), oid] as const),
  ['COMMONNAME', '2.5.4.3'],
  ['SURNAME', '2.5.4.4'],
  ['COUNTRYNAME', '2.5.4.6'],
  ['LOCALITYNAME', '2.5.4.7'],
  ['STATEORPROVINCENAME', '2.5.4.8'],
  ['STREETADDRESS', '2.5.4.9'],
  ['ORGANIZATIONNAME', '2.5.4.10'],
  ['ORGANIZATIONALUNITNAME', '2.5.4.11'],
  ['GIVENNAME', '2.5.4.42'],
  ['USERID', '0.9.2342.19200300.100.1.1'],
  ['DOMAINCOMPONENT', '0.9.2342.19200300.100.1.25'],
  ['EMAIL', '1.2.840.113549.1.9.1'],
  ['E', '1.2.840.113549.1.9.1'],
]);

// --- DER ----------------------------------------------------------------------------------------

interface Tlv {
  readonly tag: number;
  /** offset of the first byte of the element (its tag) */
  readonly at: number;
  /** content bounds */
  readonly start: number;
  readonly end: number;
}

function tlv(buf: Buffer, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new DnError('truncated DER element');
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw new DnError('high tag numbers are not used in names');
  let len = buf[pos + 1] as number;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DnError('indefinite or oversized DER length');
    if (start + n > limit) throw new DnError('truncated DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[start + i] as number);
    start += n;
  }
  if (start + len > limit) throw new DnError('DER element longer than its container');
  return { tag, at: pos, start, end: start + len };
}

function expect(buf: Buffer, pos: number, limit: number, tag: number, what: string): Tlv {
  const t = tlv(buf, pos, limit);
  if (t.tag !== tag) throw new DnError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`);
  return t;
}

function oidOf(buf: Buffer, t: Tlv): string {
  if (t.end === t.start || t.end - t.start > 64) throw new DnError('bad OID length');
  const arcs: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    const b = buf[i] as number;
    if (v === 0 && b === 0x80) throw new DnError('OID arc not minimally encoded');
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw new DnError('OID arc too large');
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0;
    }
  }
  if ((buf[t.end - 1] as number) & 0x80) throw new DnError('truncated OID');
  const first = arcs[0] as number;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a string value by its ASN.1 type; null for types that are not strings (kept as BER). */
function stringOf(buf: Buffer, t: Tlv): string | null {
  const content = buf.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x0c: // UTF8String
      try {
        return utf8.decode(content);
      } catch {
        return null;
      }
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString: read as Latin-1, as OpenSSL does
      return content.toString('latin1');
    case 0x1e: {
      // BMPString: UTF-16BE
      if (content.length % 2 !== 0) return null;
      const le = Buffer.from(content);
      le.swap16();
      return le.toString('utf16le');
    }
    case 0x1c: {
      // UniversalString: UTF-32BE
      if (content.length % 4 !== 0) return null;
      let s = '';
      for (let i = 0; i < content.length; i += 4) {
        const cp = content.readUInt32BE(i);
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return null;
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return null;
  }
}

function avaValue(buf: Buffer, t: Tlv, oid: string): Ava {
  const s = stringOf(buf, t);
  return s !== null ? { oid, value: s, ber: false } : { oid, value: buf.subarray(t.at, t.end).toString('hex'), ber: true };
}

/** A DER `Name` (SEQUENCE OF SET OF AttributeTypeAndValue) at `t`. */
function nameOf(buf: Buffer, t: Tlv): DistinguishedName {
  const rdns: Ava[][] = [];
  for (let p = t.start; p < t.end; ) {
    const set = expect(buf, p, t.end, 0x31, 'RDN');
    const rdn: Ava[] = [];
    for (let q = set.start; q < set.end; ) {
      const seq = expect(buf, q, set.end, 0x30, 'attribute');
      const oidT = expect(buf, seq.start, seq.end, 0x06, 'attribute type');
      const valT = tlv(buf, oidT.end, seq.end);
      if (valT.end !== seq.end) throw new DnError('attribute has trailing data');
      rdn.push(avaValue(buf, valT, oidOf(buf, oidT)));
      q = seq.end;
    }
    if (rdn.length === 0) throw new DnError('empty RDN');
    rdns.push(rdn);
    p = set.end;
  }
  return rdns;
}

/** Issuer and subject of a DER X.509 certificate. Throws DnError on malformed input. */
export function certificateNames(der: Buffer): { readonly issuer: DistinguishedName; readonly subject: DistinguishedName } {
  const cert = expect(der, 0, der.length, 0x30, 'certificate');
  const tbs = expect(der, cert.start, cert.end, 0x30, 'tbsCertificate');
  let t = tlv(der, tbs.start, tbs.end);
  if (t.tag === 0xa0) t = tlv(der, t.end, tbs.end); // [0] version
  if (t.tag !== 0x02) throw new DnError('serialNumber expected');
  const sigAlg = expect(der, t.end, tbs.end, 0x30, 'signature algorithm');
  const issuerT = expect(der, sigAlg.end, tbs.end, 0x30, 'issuer');
  const validity = expect(der, issuerT.end, tbs.end, 0x30, 'validity');
  const subjectT = expect(der, validity.end, tbs.end, 0x30, 'subject');
  return { issuer: nameOf(der, issuerT), subject: nameOf(der, subjectT) };
}

// --- RFC 4514 -----------------------------------------------------------------------------------

/** RFC 4514 section 2.4 escaping, plus `=` and control characters (as hex pairs). */
function escapeValue(v: string): string {
  const chars = [...v];
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c < ' ' || c === '\x7f') out += `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else if ('\\,+"<>;='.includes(c) || (i === 0 && (c === '#' || c === ' ')) || (i === chars.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/**
 * RFC 4514 string: the most specific RDN first, the attributes of one RDN joined with `+`. Like
 * OpenSSL's `-nameopt RFC2253` (and nginx's `$ssl_client_s_dn`), the attributes inside an RDN are
 * reversed too, so that the text is the certificate's encoding read backwards.
 */
export function formatDn(dn: DistinguishedName): string {
  const parts: string[] = [];
  for (let i = dn.length - 1; i >= 0; i--) {
    const rdn = dn[i] as readonly Ava[];
    const avas: string[] = [];
    for (let j = rdn.length - 1; j >= 0; j--) {
      const a = rdn[j] as Ava;
      avas.push(`${NAMES[a.oid] ?? a.oid}=${a.ber ? `#${a.value}` : escapeValue(a.value)}`);
    }
    parts.push(avas.join('+'));
  }
  return parts.join(',');
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/**
 * Parses an RFC 4514 string (`CN=billing+O=Acme,C=DE`: most specific first, `+` inside an RDN,
 * `\` escapes of a special character or of a hex pair, `#hex` BER values). Spaces around types and
 * unescaped spaces around values are ignored. Throws DnError with the reason.
 */
export function parseDn(text: string): DistinguishedName {
  const rdns: Ava[][] = [];
  let rdn: Ava[] = [];
  let i = 0;
  const n = text.length;
  if (text.trim() === '') throw new DnError('empty distinguished name');
  for (;;) {
    // attribute type
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new DnError(`missing '=' after '${text.slice(i).trim()}'`);
    const typeText = text.slice(i, eq).trim();
    const oid = /^(?:OID\.)?([0-2](?:\.(?:0|[1-9][0-9]*))+)$/i.exec(typeText)?.[1] ?? OIDS.get(typeText.toUpperCase());
    if (oid === undefined) throw new DnError(`unknown attribute type '${typeText}' (use a dotted OID)`);
    i = eq + 1;
    while (i < n && text[i] === ' ') i++;
    let ava: Ava;
    if (text[i] === '#') {
      const m = /^#((?:[0-9A-Fa-f]{2})+)/.exec(text.slice(i));
      if (m === null) throw new DnError(`bad hex value for ${typeText}`);
      const der = Buffer.from(m[1] as string, 'hex');
      const t = tlv(der, 0, der.length);
      if (t.end !== der.length) throw new DnError(`hex value of ${typeText} has trailing data`);
      ava = avaValue(der, t, oid);
      i += (m[0] as string).length;
      while (i < n && text[i] === ' ') i++;
    } else {
      if (text[i] === '"') throw new DnError('quoted values are not RFC 4514: escape special characters with \\');
      const bytes: number[] = [];
      let trailing = 0; // unescaped spaces at the end of bytes
      while (i < n && text[i] !== ',' && text[i] !== '+') {
        const c = text[i] as string;
        if (c === '\\') {
          const pair = text.slice(i + 1, i + 3);
          if (HEX.test(pair)) {
            bytes.push(parseInt(pair, 16));
            i += 3;
          } else if (i + 1 < n && ' "#+,;<=>\\'.includes(text[i + 1] as string)) {
            bytes.push((text[i + 1] as string).charCodeAt(0));
            i += 2;
          } else throw new DnError(`bad escape in the value of ${typeText}`);
          trailing = 0;
          continue;
        }
        if (c === ';' || c === '"' || c === '<' || c === '>') throw new DnError(`'${c}' must be escaped in the value of ${typeText}`);
        const cp = text.codePointAt(i) as number;
        if (cp >= 0xd800 && cp <= 0xdfff) throw new DnError(`the value of ${typeText} has a lone surrogate`);
        const ch = String.fromCodePoint(cp);
        for (const x of Buffer.from(ch, 'utf8')) bytes.push(x);
        i += ch.length;
        trailing = ch === ' ' ? trailing + 1 : 0;
      }
      const raw = Buffer.from(bytes.slice(0, bytes.length - trailing));
      let value: string;
      try {
        value = utf8.decode(raw);
      } catch {
        throw new DnError(`the value of ${typeText} is not UTF-8`);
      }
      ava = { oid, value, ber: false };
    }
    rdn.push(ava);
    if (i >= n) break;
    const sep = text[i];
    i++;
    if (sep === ',') {
      rdns.push(rdn);
      rdn = [];
    } else if (sep !== '+') throw new DnError(`unexpected '${sep}'`);
  }
  rdns.push(rdn);
  // written most specific first (and backwards inside an RDN, as formatDn): DER order is the reverse
  return rdns.reverse().map((r) => r.reverse());
}

/**
 * A string equal for two names exactly when they are structurally equal: the same RDNs in the same
 * order, each the same set of (type, value) pairs.
 */
export function dnKey(dn: DistinguishedName): string {
  return JSON.stringify(
    dn.map((rdn) =>
      rdn
        .map((a) => [a.oid, a.ber ? 1 : 0, a.value] as const)
        .sort((x, y) => (x[0] !== y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] !== y[1] ? x[1] - y[1] : x[2] < y[2] ? -1 : x[2] > y[2] ? 1 : 0)),
    ),
  );
}

/** The value of the last (most specific) attribute of type `oid`, or null. */
export function lastValue(dn: DistinguishedName, oid: string): string | null {
  for (let i = dn.length - 1; i >= 0; i--) for (const a of dn[i] as readonly Ava[]) if (a.oid === oid && !a.ber) return a.value;
  return null;
}

export const OID_CN = '2.5.4.3';
