import * as x509 from './x509.ts';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClusterCa, loadClusterCa } from './ca.ts';
import { PkiError } from './errors.ts';
import { issueCertificate } from './issue.ts';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function modeOf(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

function rejectsWith(code: string, hint?: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof PkiError, `expected a PkiError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (hint !== undefined) assert.match(err.hint ?? '', hint);
    return true;
  };
}

describe('cluster CA', () => {
  let root: string;
  let n = 0;
  const fresh = (): string => join(root, `ca-${++n}`);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lifeboat-pki-ca-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('creates a P-256 CA with private files', async () => {
    const dir = fresh();
    const ca = await createClusterCa(dir, { commonName: 'test CA' });
    assert.equal(ca.created, true);
    assert.equal(await modeOf(dir), 0o700);
    assert.equal(await modeOf(join(dir, 'ca.pem')), 0o644);
    assert.equal(await modeOf(join(dir, 'ca-key.pem')), 0o600);

    const cert = new X509Certificate(await readFile(join(dir, 'ca.pem')));
    assert.equal(cert.ca, true);
    assert.match(cert.subject, /CN=test CA/);
    assert.ok(cert.verify(cert.publicKey), 'self-signed');
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (Date.parse(cert.validTo) - Date.now()) / (365.25 * 86_400_000);
    assert.ok(years > 9.9 && years < 10.1, `validity ${years} years`);

    const parsed = new x509.X509Certificate(ca.certPem);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    assert.equal(usage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.pathLength, 0);
  });

  test('is idempotent: an existing CA is loaded, never replaced', async () => {
    const dir = fresh();
    const first = await createClusterCa(dir);
    const keyBefore = await readFile(join(dir, 'ca-key.pem'), 'utf8');
    const second = await createClusterCa(dir);
    assert.equal(second.created, false);
    assert.equal(second.certPem, first.certPem);
    assert.equal(await readFile(join(dir, 'ca-key.pem'), 'utf8'), keyBefore);
    assert.equal(second.certificate.serialNumber, first.certificate.serialNumber);
  });

  test('concurrent creators end up with one CA', async () => {
    const dir = fresh();
    const results = await Promise.all([createClusterCa(dir), createClusterCa(dir), createClusterCa(dir)]);
    assert.equal(results.filter((r) => r.created).length, 1);
    for (const r of results) assert.equal(r.certPem, results[0]?.certPem);
  });

  test('refuses to complete a CA that lost a file', async () => {
    const dir = fresh();
    const ca = await createClusterCa(dir);
    await unlink(join(dir, 'ca-key.pem'));
    await assert.rejects(createClusterCa(dir), rejectsWith('pki_ca_incomplete', /backup/));
    assert.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), ca.certPem);
  });

  test('load reports missing files', async () => {
    await assert.rejects(loadClusterCa(join(root, 'nowhere')), rejectsWith('pki_file_missing'));
  });

  test('load refuses a key readable by group or others', async () => {
    const dir = fresh();
    await createClusterCa(dir);
    const keyPath = join(dir, 'ca-key.pem');
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      await chmod(keyPath, mode);
      await assert.rejects(loadClusterCa(dir), (err) => {
        assert.ok(err instanceof PkiError);
        assert.equal(err.code, 'pki_key_permissions');
        assert.equal(err.hint, `restrict it to its owner: chmod 600 ${keyPath}`);
        return true;
      });
    }
    await chmod(keyPath, 0o400);
    await loadClusterCa(dir);
  });

  test('load refuses a key that belongs to another certificate', async () => {
    const a = fresh();
    const b = fresh();
    await createClusterCa(a);
    await createClusterCa(b);
    await copyFile(join(b, 'ca-key.pem'), join(a, 'ca-key.pem'));
    await assert.rejects(loadClusterCa(a), rejectsWith('pki_key_mismatch'));
  });

  test('load refuses a certificate that is not a CA', async () => {
    const caDir = fresh();
    const ca = await createClusterCa(caDir);
    const leaf = await issueCertificate(ca, { role: 'manager', name: 'm1' });
    const dir = fresh();
    await mkdir(dir, { mode: 0o700 });
    await writeFile(join(dir, 'ca.pem'), leaf.certPem);
    await writeFile(join(dir, 'ca-key.pem'), leaf.keyPem, { mode: 0o600 });
    await assert.rejects(loadClusterCa(dir), rejectsWith('pki_not_a_ca'));
  });

  test(
    'loads an RSA CA made as in Docker’s TLS guide and issues from it',
    { skip: !hasOpenssl() },
    async () => {
      const dir = fresh();
      await mkdir(dir, { mode: 0o700 });
      const keyPath = join(dir, 'ca-key.pem');
      const certPath = join(dir, 'ca.pem');
      execFileSync('openssl', ['genrsa', '-traditional', '-out', keyPath, '2048'], { stdio: 'ignore' });
      await chmod(keyPath, 0o600);
      execFileSync('openssl', [
        'req',
        '-new',
        '-x509',
        '-days',
        '30',
        '-key',
        keyPath,
        '-sha256',
        '-subj',
        '/CN=docker-ca/O=Example',
        '-out',
        certPath,
      ]);
      const ca = await loadClusterCa(dir);
      const leaf = await issueCertificate(ca, { role: 'client', name: 'alice' });
      const cert = new X509Certificate(leaf.certPem);
      assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)));
      assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey));
      // Issuance is cut to the CA's own expiry.
      assert.ok(Date.parse(cert.validTo) <= Date.parse(new X509Certificate(ca.certPem).validTo));
      const leafPath = join(dir, 'leaf.pem');
      await writeFile(leafPath, leaf.certPem);
      const out = execFileSync(
        'openssl',
        ['verify', '-CAfile', certPath, '-purpose', 'sslclient', leafPath],
        {
          encoding: 'utf8',
        },
      );
      assert.match(out, /OK/);
    },
  );
});
