import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../util/errors.ts';
import { createClusterCa } from './ca.ts';
import type { ClusterCa } from './ca.ts';
import { PkiError } from './errors.ts';
import { issueCertificate, issueToDirectory, writeCertificate, writeDockerCertPath } from './issue.ts';
import { loadTlsBundle } from './tls.ts';

const serverAuth = '1.3.6.1.5.5.7.3.1';
const clientAuth = '1.3.6.1.5.5.7.3.2';

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

describe('issuing certificates', () => {
  let root: string;
  let caDir: string;
  let ca: ClusterCa;
  let caCert: X509Certificate;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lifeboat-pki-issue-'));
    caDir = join(root, 'ca');
    ca = await createClusterCa(caDir);
    caCert = new X509Certificate(ca.certPem);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a manager certificate serves and connects, names its role and addresses', async () => {
    const issued = await issueCertificate(ca, {
      role: 'manager',
      name: 'manager-1',
      dnsNames: ['Lifeboat.example'],
      ipAddresses: ['10.0.0.1', '::1'],
    });
    const cert = new X509Certificate(issued.certPem);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.ca, false);
    assert.match(cert.subject, /OU=lifeboat-manager/);
    assert.match(cert.subject, /CN=manager-1/);
    assert.deepEqual(cert.keyUsage, [serverAuth, clientAuth]);
    assert.equal(
      cert.subjectAltName,
      'DNS:lifeboat.example, DNS:manager-1, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    assert.equal(cert.checkIP('10.0.0.1'), '10.0.0.1');
    assert.equal(cert.checkHost('manager-1'), 'manager-1');
    assert.ok(cert.checkPrivateKey(createPrivateKey(issued.keyPem)));
    assert.match(issued.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 364 && days <= 365, `valid for ${days} days`);
  });

  test('an agent named by its address gets an IP SAN', async () => {
    const issued = await issueCertificate(ca, { role: 'agent', name: '192.168.7.3', validDays: 30 });
    const cert = new X509Certificate(issued.certPem);
    assert.equal(cert.subjectAltName, 'IP Address:192.168.7.3');
    assert.deepEqual(cert.keyUsage, [serverAuth, clientAuth]);
    assert.match(cert.subject, /OU=lifeboat-agent/);
  });

  test('a client certificate only authenticates clients and names no host', async () => {
    const issued = await issueCertificate(ca, { role: 'client', name: 'alice@example.org' });
    const cert = new X509Certificate(issued.certPem);
    assert.deepEqual(cert.keyUsage, [clientAuth]);
    assert.equal(cert.subjectAltName, undefined);
    assert.match(cert.subject, /OU=lifeboat-client/);
  });

  test('rejects bad input before signing anything', async () => {
    const bad = [
      { role: 'agent' as const, name: 'a,b' },
      { role: 'agent' as const, name: '' },
      { role: 'agent' as const, name: 'x', ipAddresses: ['10.0.0.300'] },
      { role: 'agent' as const, name: 'x', dnsNames: ['10.0.0.3'] },
      { role: 'agent' as const, name: 'x', dnsNames: ['bad name'] },
      { role: 'agent' as const, name: 'x', validDays: 0 },
      { role: 'agent' as const, name: 'x', validDays: 1.5 },
      { role: 'agent' as const, name: 'x', validDays: 4000 },
    ];
    for (const opts of bad) {
      await assert.rejects(issueCertificate(ca, opts), ValidationError, JSON.stringify(opts));
    }
  });

  test('writes a DOCKER_CERT_PATH with private key permissions, refusing to overwrite by default', async () => {
    const dir = join(root, 'docker');
    const issued = await issueCertificate(ca, { role: 'client', name: 'bob' });
    const paths = await writeDockerCertPath(dir, issued);
    assert.deepEqual(
      [paths.caPath, paths.certPath, paths.keyPath],
      [join(dir, 'ca.pem'), join(dir, 'cert.pem'), join(dir, 'key.pem')],
    );
    assert.equal(await modeOf(dir), 0o700);
    assert.equal(await modeOf(paths.keyPath), 0o600);
    assert.equal(await modeOf(paths.certPath), 0o644);
    assert.equal(await modeOf(paths.caPath), 0o644);
    assert.equal(await readFile(paths.caPath, 'utf8'), ca.certPem);

    const again = await issueCertificate(ca, { role: 'client', name: 'bob' });
    await assert.rejects(
      writeDockerCertPath(dir, again),
      (err) => err instanceof PkiError && err.code === 'pki_cert_exists',
    );
    assert.equal(await readFile(paths.certPath, 'utf8'), issued.certPem);
    await writeDockerCertPath(dir, again, { overwrite: true });
    assert.equal(await readFile(paths.certPath, 'utf8'), again.certPem);
    assert.equal(await modeOf(paths.keyPath), 0o600);
  });

  test('prefix layout lets identities share a directory', async () => {
    const dir = join(root, 'shared');
    const agent = await issueCertificate(ca, { role: 'agent', name: 'node-1' });
    const paths = await writeCertificate(dir, { prefix: 'agent' }, agent);
    assert.equal(paths.certPath, join(dir, 'agent.pem'));
    assert.equal(paths.keyPath, join(dir, 'agent-key.pem'));
    const bundle = await loadTlsBundle(dir, { prefix: 'agent' });
    assert.equal(bundle.certPem, agent.certPem);
    await assert.rejects(writeCertificate(dir, { prefix: 'ca' }, agent), ValidationError);
    await assert.rejects(writeCertificate(dir, { prefix: '../x' }, agent), ValidationError);
  });

  test('issueToDirectory issues from a CA directory into an identity directory', async () => {
    const out = join(root, 'node-2');
    const { issued, paths } = await issueToDirectory(caDir, 'agent', 'node-2', out, {
      ipAddresses: ['10.1.0.2'],
    });
    const bundle = await loadTlsBundle(out);
    assert.equal(bundle.certPem, issued.certPem);
    assert.equal(bundle.keyPem, issued.keyPem);
    assert.equal(bundle.caPem, ca.certPem);
    assert.equal(paths.keyPath, join(out, 'key.pem'));
    assert.deepEqual(issued.ipAddresses, ['10.1.0.2']);
    await assert.rejects(
      issueToDirectory(caDir, 'agent', 'node-2', out),
      (err) => err instanceof PkiError && err.code === 'pki_cert_exists',
    );
    await assert.rejects(issueToDirectory(caDir, 'client', 'x', caDir), ValidationError);
  });

  test('extra trust anchors are appended to ca.pem (CA rotation)', async () => {
    const other = await createClusterCa(join(root, 'ca-next'));
    const out = join(root, 'rotating');
    await issueToDirectory(caDir, 'manager', 'manager-9', out, { extraTrustPem: other.certPem });
    assert.equal(await readFile(join(out, 'ca.pem'), 'utf8'), ca.certPem + other.certPem);
  });

  test('loadTlsBundle refuses a key others can read', async () => {
    const out = join(root, 'leaky');
    const { paths } = await issueToDirectory(caDir, 'client', 'carol', out);
    await chmod(paths.keyPath, 0o644);
    await assert.rejects(loadTlsBundle(out), (err) => {
      assert.ok(err instanceof PkiError);
      assert.equal(err.code, 'pki_key_permissions');
      assert.match(err.hint ?? '', /chmod 600/);
      return true;
    });
  });
});
