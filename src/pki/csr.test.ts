import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import * as x509 from './x509.ts';
import { cryptoImpl, createClusterCa } from './ca.ts';
import { createCertificateRequest, readCertificateRequest } from './csr.ts';
import { signCertificate } from './issue.ts';

test('a request made on the host is signed for its own key, with the names it asked for and the role given', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-csr-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await createClusterCa(join(dir, 'ca'));
  const { csrPem, keyPem } = await createCertificateRequest({
    name: 'node7',
    ipAddresses: ['10.0.0.7'],
    dnsNames: ['node7.example.org'],
  });
  assert.doesNotMatch(csrPem, /PRIVATE KEY/);
  const asked = await readCertificateRequest(csrPem);
  assert.equal(asked.name, 'node7');
  assert.deepEqual(asked.ipAddresses, ['10.0.0.7']);
  assert.deepEqual(asked.dnsNames, ['node7.example.org']);
  const signed = await signCertificate(ca, { role: 'agent', ...asked }, asked.publicKey);
  const cert = new X509Certificate(signed.certPem);
  assert.ok(
    cert.checkPrivateKey(createPrivateKey(keyPem)),
    'the certificate is for the key that stayed on the host',
  );
  assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
  assert.match(cert.subject, /OU=lifeboat-agent/);
});

test('a request whose signature does not match its key, or with an RSA key, is refused', async () => {
  const a = await createCertificateRequest({ name: 'a' });
  // the last byte of the DER is the last byte of the signature's s: still well formed, no longer valid
  const der = Buffer.from(new x509.Pkcs10CertificateRequest(a.csrPem).rawData);
  der.writeUInt8(der.readUInt8(der.length - 1) ^ 0x01, der.length - 1);
  const forged = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
  await assert.rejects(readCertificateRequest(forged), /signature does not match its key/);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keys = {
    privateKey: await cryptoImpl.subtle.importKey(
      'pkcs8',
      rsa.privateKey.export({ type: 'pkcs8', format: 'der' }),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['sign'],
    ),
    publicKey: await cryptoImpl.subtle.importKey(
      'spki',
      rsa.publicKey.export({ type: 'spki', format: 'der' }),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      true,
      ['verify'],
    ),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    { name: 'CN=r', keys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
    cryptoImpl,
  );
  await assert.rejects(readCertificateRequest(csr.toString('pem')), /ECDSA P-256 keys only/);
  await assert.rejects(readCertificateRequest('not pem'), /not a PEM PKCS#10 request/);
});
