import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createLabCertificates } from '../../lab/certs.js';
import { createTlsContext } from '../../lab/tds/tls.js';

function handshake(port: number, ca: string, servername: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername }, () => {
      socket.end();
      resolve(undefined);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

test('the server certificate verifies against the lab CA for localhost only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-certs-'));
  try {
    const certs = await createLabCertificates(dir);
    assert.is(certs.caFile, join(dir, 'ca.pem'));
    assert.is(await readFile(certs.caFile, 'utf8'), certs.ca);
    assert.match(certs.key, /BEGIN (EC )?PRIVATE KEY/);
    const server = createServer({ key: certs.key, cert: certs.cert }, (s) => s.end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      assert.is(await handshake(port, certs.ca, 'localhost'), undefined);
      assert.is(await handshake(port, certs.ca, 'example.com'), 'ERR_TLS_CERT_ALTNAME_INVALID');
      const other = await createLabCertificates(join(dir, 'other'));
      assert.is(await handshake(port, other.ca, 'localhost'), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    } finally {
      server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a TDS server\'s TLS context is made once for the same certificate and mode (a drill starts a lab for each run), never shared across certificates or modes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-certs-'));
  try {
    const [one, other] = await Promise.all([createLabCertificates(join(dir, 'one')), createLabCertificates(join(dir, 'other'))]);
    const strict = createTlsContext({ key: one.key, cert: one.cert }, 'strict');
    assert.is(createTlsContext({ key: one.key, cert: one.cert }, 'strict'), strict, 'a second lab with the same certificates made its context again');
    assert.is.not(createTlsContext({ key: one.key, cert: one.cert }, 'wrapped'), strict);
    assert.is.not(createTlsContext({ key: other.key, cert: other.cert }, 'strict'), strict);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
