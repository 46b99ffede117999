/**
 * TLS / mTLS options of an HTTPS listener, built from its `tls` config section.
 *
 * - `client_auth: required`: requestCert + rejectUnauthorized: the handshake fails without a
 *   certificate that chains to `ca`, is within its validity period and is not revoked in `crl`.
 * - `client_auth: optional`: a certificate is requested but not required; routes that need one
 *   get 401 from the auth stage, and a certificate that did not verify is refused there
 *   (socket.authorized is false).
 * - `client_auth: none`: no certificate is requested.
 *
 * With client_auth, `ca` is required: falling back to Node's public root store would let any
 * publicly issued certificate authenticate. With `crl`, OpenSSL checks every certificate in the
 * chain (X509_V_FLAG_CRL_CHECK_ALL), so give a current CRL for each CA (root and intermediates);
 * a missing or expired CRL refuses every client (fail closed).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { ConfigError } from '../config/errors.js';
import type { TlsConfig } from '../core/config.js';

export type TlsServerOptions = SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean };

function read(baseDir: string, file: string, key: string): Buffer {
  const path = resolve(baseDir, file);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConfigError(`cannot read ${key} file: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { file: path, keyPath: `tls.${key}` });
  }
}

export function buildTlsOptions(tls: TlsConfig, baseDir: string): TlsServerOptions {
  const clientAuth = tls.client_auth ?? 'none';
  const opts: TlsServerOptions = {
    cert: read(baseDir, tls.cert, 'cert'),
    key: read(baseDir, tls.key, 'key'),
    minVersion: tls.min_version ?? 'TLSv1.2',
    honorCipherOrder: true,
    requestCert: clientAuth !== 'none',
    rejectUnauthorized: clientAuth === 'required',
  };
  if (clientAuth !== 'none' && (tls.ca === undefined || tls.ca === '')) {
    throw new ConfigError(`tls.ca is required with client_auth: ${clientAuth} (client certificates are never checked against public roots)`, {
      file: baseDir,
      keyPath: 'tls.ca',
    });
  }
  if (tls.ca !== undefined && tls.ca !== '') opts.ca = read(baseDir, tls.ca, 'ca');
  if (tls.crl !== undefined && tls.crl.length > 0) {
    if (clientAuth === 'none') throw new ConfigError('tls.crl needs client_auth optional or required', { file: baseDir, keyPath: 'tls.crl' });
    opts.crl = tls.crl.map((f, i) => read(baseDir, f, `crl[${i}]`));
  }
  // fail at load time, with a clear message, on a key that does not match or unparseable PEM
  try {
    createSecureContext(opts);
  } catch (e) {
    throw new ConfigError(`TLS material is not usable: ${(e as Error).message}`, { file: resolve(baseDir, tls.cert), keyPath: 'tls' });
  }
  return opts;
}
