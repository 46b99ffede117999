/**
 * A test PKI made with the openssl CLI at test time (EC P-256, fast):
 *
 *   Test Root CA ── Test Intermediate CA ─┬─ server (localhost, 127.0.0.1, ::1)
 *                                         ├─ client-a (valid; SAN URI:spiffe://test/client-a, DNS:client-a.test)
 *                                         ├─ client-b (valid)
 *                                         ├─ client-unlisted (valid, mapped to no consumer in tests)
 *                                         ├─ client-expired (valid 2020-01-01 .. 2020-01-02)
 *                                         └─ client-revoked (revoked in the intermediate's CRL)
 *   Other Root CA ── client-a (same subject and SANs as the valid client-a: the wrong-CA case)
 *
 * CRLs are made for both CAs of the chain (Node checks CRLs for the whole chain).
 * `testPki()` builds one PKI per process; `createTestPki()` a fresh one.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  readonly certPath: string;
  readonly keyPath: string;
  /** PEM of the leaf followed by its issuing intermediate (what a client sends) */
  readonly cert: Buffer;
  readonly key: Buffer;
  /** lowercase hex SHA-256 of the leaf DER */
  readonly fingerprint256: string;
  /** base64url SHA-256 of the leaf DER (RFC 8705 x5t#S256) */
  readonly x5tS256: string;
  /** RFC 4514 subject, e.g. `CN=client-a,O=Portcullis Test` */
  readonly subject: string;
}

export interface TestPki {
  readonly dir: string;
  readonly rootCaPath: string;
  readonly intermediateCaPath: string;
  /** root + intermediate, the `tls.ca` of a listener */
  readonly caBundlePath: string;
  readonly caBundle: Buffer;
  /** root CRL and intermediate CRL (client-revoked is revoked in the latter) */
  readonly crlPaths: readonly string[];
  readonly otherRootCaPath: string;
  readonly server: KeyPair;
  readonly clients: Readonly<Record<'valid' | 'valid2' | 'unlisted' | 'expired' | 'revoked' | 'wrongCa', KeyPair>>;
  /**
   * Issues a client certificate from the intermediate CA with `openssl x509 -req`, which keeps the
   * request's subject as written (multi-valued RDNs such as `/CN=billing+O=Acme` included; `openssl
   * ca` splits them). `subject` of the result is openssl's RFC 2253 print of it.
   */
  issueClient(name: string, subj: string): KeyPair;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString('utf8') ?? '';
    throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${stderr.trim()}`);
  }
}

const EXTENSIONS = `
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_intermediate ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
`;

function caConfig(dir: string): string {
  return `
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/newcerts
certificate = ${dir}/ca.pem
private_key = ${dir}/ca.key
serial = ${dir}/serial
crlnumber = ${dir}/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = copy
preserve = yes
email_in_dn = no
[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
${EXTENSIONS}`;
}

/** A CA directory usable by `openssl ca`. */
function initCa(root: string, name: string): { dir: string; cnf: string } {
  const dir = join(root, name);
  mkdirSync(join(dir, 'newcerts'), { recursive: true });
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'index.txt.attr'), 'unique_subject = no\n');
  writeFileSync(join(dir, 'serial'), `${(0x1000 + Math.floor(Math.random() * 0xe000)).toString(16).toUpperCase()}\n`);
  writeFileSync(join(dir, 'crlnumber'), '01\n');
  const cnf = join(dir, 'ca.cnf');
  writeFileSync(cnf, caConfig(dir));
  return { dir, cnf };
}

function ecKey(path: string, cwd: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], cwd);
}

function keyPair(certPath: string, keyPath: string, chain: Buffer): KeyPair {
  const leafPem = readFileSync(certPath);
  const x = new X509Certificate(leafPem);
  const digest = createHash('sha256').update(x.raw).digest();
  const subject = x.subject.split('\n').reverse().join(',');
  const cert = Buffer.concat([leafPem, chain]);
  writeFileSync(certPath, cert);
  return { certPath, keyPath, cert, key: readFileSync(keyPath), fingerprint256: digest.toString('hex'), x5tS256: digest.toString('base64url'), subject };
}

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-pki-'));
  const root = initCa(dir, 'root');
  const int = initCa(dir, 'intermediate');
  const other = initCa(dir, 'other');

  // self-signed roots
  for (const [ca, cn] of [
    [root, 'Portcullis Test Root CA'],
    [other, 'Other Root CA'],
  ] as const) {
    ecKey(join(ca.dir, 'ca.key'), dir);
    openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        join(ca.dir, 'ca.key'),
        '-out',
        join(ca.dir, 'ca.pem'),
        '-days',
        '3650',
        '-subj',
        `/O=Portcullis Test/CN=${cn}`,
        '-config',
        ca.cnf,
        '-extensions',
        'v3_ca',
      ],
      dir,
    );
  }

  // intermediate, signed by the root
  ecKey(join(int.dir, 'ca.key'), dir);
  openssl(
    ['req', '-new', '-key', join(int.dir, 'ca.key'), '-out', join(int.dir, 'ca.csr'), '-subj', '/O=Portcullis Test/CN=Portcullis Test Intermediate CA'],
    dir,
  );
  openssl(
    [
      'ca',
      '-batch',
      '-config',
      root.cnf,
      '-extensions',
      'v3_intermediate',
      '-days',
      '3650',
      '-notext',
      '-in',
      join(int.dir, 'ca.csr'),
      '-out',
      join(int.dir, 'ca.pem'),
    ],
    dir,
  );
  const intPem = readFileSync(join(int.dir, 'ca.pem'));
  const otherPem = readFileSync(join(other.dir, 'ca.pem'));

  const issue = (
    ca: { dir: string; cnf: string },
    name: string,
    subj: string,
    ext: 'v3_client' | 'v3_server',
    opts: { san?: string; start?: string; end?: string } = {},
  ): { certPath: string; keyPath: string } => {
    const keyPath = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const certPath = join(dir, `${name}.pem`);
    ecKey(keyPath, dir);
    openssl(['req', '-new', '-key', keyPath, '-out', csr, '-subj', subj, ...(opts.san ? ['-addext', `subjectAltName=${opts.san}`] : [])], dir);
    const dates = opts.start && opts.end ? ['-startdate', opts.start, '-enddate', opts.end] : ['-days', '365'];
    openssl(['ca', '-batch', '-config', ca.cnf, '-extensions', ext, ...dates, '-notext', '-in', csr, '-out', certPath], dir);
    return { certPath, keyPath };
  };

  const server = issue(int, 'server', '/O=Portcullis Test/CN=localhost', 'v3_server');
  const valid = issue(int, 'client-a', '/O=Portcullis Test/CN=client-a', 'v3_client', { san: 'URI:spiffe://test/client-a,DNS:client-a.test' });
  const valid2 = issue(int, 'client-b', '/O=Portcullis Test/CN=client-b', 'v3_client', { san: 'URI:spiffe://test/client-b' });
  const unlisted = issue(int, 'client-unlisted', '/O=Portcullis Test/CN=client-unlisted', 'v3_client');
  const expired = issue(int, 'client-expired', '/O=Portcullis Test/CN=client-expired', 'v3_client', { start: '20200101000000Z', end: '20200102000000Z' });
  const revoked = issue(int, 'client-revoked', '/O=Portcullis Test/CN=client-revoked', 'v3_client');
  const wrongCa = issue(other, 'client-wrong-ca', '/O=Portcullis Test/CN=client-a', 'v3_client', { san: 'URI:spiffe://test/client-a,DNS:client-a.test' });

  openssl(['ca', '-batch', '-config', int.cnf, '-revoke', revoked.certPath, '-crl_reason', 'keyCompromise'], dir);
  const rootCrl = join(dir, 'root.crl.pem');
  const intCrl = join(dir, 'intermediate.crl.pem');
  openssl(['ca', '-batch', '-config', root.cnf, '-gencrl', '-out', rootCrl], dir);
  openssl(['ca', '-batch', '-config', int.cnf, '-gencrl', '-out', intCrl], dir);

  const issueClient = (name: string, subj: string): KeyPair => {
    const keyPath = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const certPath = join(dir, `${name}.pem`);
    ecKey(keyPath, dir);
    openssl(['req', '-new', '-key', keyPath, '-out', csr, '-subj', subj], dir);
    const serial = `0x${createHash('sha256').update(`${name}${Math.random()}`).digest('hex').slice(0, 16)}`;
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        join(int.dir, 'ca.pem'),
        '-CAkey',
        join(int.dir, 'ca.key'),
        '-set_serial',
        serial,
        '-extfile',
        int.cnf,
        '-extensions',
        'v3_client',
        '-days',
        '365',
        '-out',
        certPath,
      ],
      dir,
    );
    const printed = execFileSync('openssl', ['x509', '-in', certPath, '-noout', '-subject', '-nameopt', 'RFC2253'], { cwd: dir }).toString('utf8').trim();
    return { ...keyPair(certPath, keyPath, intPem), subject: printed.replace(/^subject=/, '') };
  };

  const caBundlePath = join(dir, 'ca-bundle.pem');
  const caBundle = Buffer.concat([readFileSync(join(root.dir, 'ca.pem')), intPem]);
  writeFileSync(caBundlePath, caBundle);

  return {
    dir,
    rootCaPath: join(root.dir, 'ca.pem'),
    intermediateCaPath: join(int.dir, 'ca.pem'),
    caBundlePath,
    caBundle,
    crlPaths: [rootCrl, intCrl],
    otherRootCaPath: join(other.dir, 'ca.pem'),
    server: keyPair(server.certPath, server.keyPath, intPem),
    clients: {
      valid: keyPair(valid.certPath, valid.keyPath, intPem),
      valid2: keyPair(valid2.certPath, valid2.keyPath, intPem),
      unlisted: keyPair(unlisted.certPath, unlisted.keyPath, intPem),
      expired: keyPair(expired.certPath, expired.keyPath, intPem),
      revoked: keyPair(revoked.certPath, revoked.keyPath, intPem),
      wrongCa: keyPair(wrongCa.certPath, wrongCa.keyPath, otherPem),
    },
    issueClient,
  };
}

let shared: TestPki | null = null;

/** One PKI per test process. */
export function testPki(): TestPki {
  shared ??= createTestPki();
  return shared;
}
