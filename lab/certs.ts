// Throwaway certificates for the lab: a CA and a server certificate for `localhost` signed by
// it. Clients trust the CA (the file this writes), so TLS is verified for real instead of being
// switched off with trustServerCertificate. Generated with the openssl CLI (no shell) at lab start.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const openssl = process.env.OPENSSL_BIN ?? 'openssl';

export interface LabCertificates {
  /** Absolute or dir-relative path of the CA certificate written to `dir` (`ca.pem`). */
  caFile: string;
  /** The CA certificate (PEM); what clients put in `ca`. */
  ca: string;
  /** The server's private key (PEM, EC P-256). */
  key: string;
  /** The server certificate (PEM), CN=localhost, SAN DNS:localhost, IP:127.0.0.1. */
  cert: string;
}

/** Creates a CA and a localhost server certificate in `dir`; returns the PEMs. */
export async function createLabCertificates(dir: string): Promise<LabCertificates> {
  await mkdir(dir, { recursive: true });
  const path = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

  await run(openssl, [
    'req', '-x509', ...ec, '-keyout', path('ca-key.pem'), '-out', path('ca.pem'),
    '-days', '30', '-subj', '/CN=runbook lab CA',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run(openssl, [
    'req', '-new', ...ec, '-keyout', path('server-key.pem'), '-out', path('server.csr'),
    '-subj', '/CN=localhost',
  ]);
  // x509 -req does not copy request extensions, so they go in an extension file.
  await writeFile(
    path('server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '',
    ].join('\n'),
  );
  await run(openssl, [
    'x509', '-req', '-in', path('server.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca-key.pem'),
    '-CAcreateserial', '-days', '30', '-sha256', '-extfile', path('server.ext'),
    '-out', path('server.pem'),
  ]);

  const [ca, key, cert] = await Promise.all([
    readFile(path('ca.pem'), 'utf8'),
    readFile(path('server-key.pem'), 'utf8'),
    readFile(path('server.pem'), 'utf8'),
  ]);
  return { caFile: path('ca.pem'), ca, key, cert };
}
