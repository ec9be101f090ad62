// One lab CA and localhost certificate per test process, for every lab and TDS server a test file
// starts: a lab's own set is three openssl runs (~45 ms of CPU and ~100 ms of wall each lab), and
// the suite starts hundreds of labs. The folder holds a private key: it goes when the process ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLabCertificates, type LabCertificates } from '../../lab/certs.js';
import { startLab, type Lab, type StartLabOptions } from '../../lab/index.js';

let certificates: Promise<LabCertificates> | undefined;

export function testCertificates(): Promise<LabCertificates> {
  if (!certificates) {
    const dir = mkdtempSync(join(tmpdir(), 'runbook-test-certs-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    certificates = createLabCertificates(dir);
  }
  return certificates;
}

/**
 * startLab with these certificates, unless the test gives its own, a folder of its own for them,
 * or no TLS: no test of a lab started so depends on its CA being new (one that does, e.g. a
 * foreign CA, makes its own).
 */
export async function startTestLab(options: StartLabOptions = {}): Promise<Lab> {
  const shared = options.certificates === undefined && options.dir === undefined && options.tls !== false;
  return startLab(shared ? { ...options, certificates: await testCertificates() } : options);
}
