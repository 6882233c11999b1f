import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKeyring } from '../../src/checkpoint/crypto/index.ts';
import { loadTlsBundle } from '../../src/pki/index.ts';

// `lifeboat cert` as an operator runs it: a real process, files on disk.
const REPO = new URL('../..', import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lifeboat(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: REPO,
      env: { ...process.env, LIFEBOAT_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  const r = await lifeboat([...args, '--json']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const mode = (path: string): number => statSync(path).mode & 0o777;

describe('lifeboat cert', () => {
  let root: string;
  let ca: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lifeboat-cert-cli-'));
    ca = join(root, 'ca');
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  test('init creates a private CA once and then only shows it', async () => {
    const first = await json(['cert', 'init', '--dir', ca]);
    assert.equal(first['created'], true);
    assert.equal(mode(ca), 0o700);
    assert.equal(mode(join(ca, 'ca-key.pem')), 0o600);
    const again = await json(['cert', 'init', '--dir', ca]);
    assert.equal(again['created'], false);
    assert.equal(again['fingerprint256'], first['fingerprint256']);
  });

  test('issue: the prefix layout shares a directory; names and addresses land in the certificate', async () => {
    const dir = join(root, 'node1');
    const agent = await json([
      'cert',
      'issue',
      '--role',
      'agent',
      '--name',
      'node1',
      '--ip',
      '10.99.0.11',
      '--dns',
      'node1.example',
      '--ca',
      ca,
      '--out',
      dir,
      '--prefix',
      'agent',
    ]);
    assert.equal(agent['certPath'], join(dir, 'agent.pem'));
    assert.deepEqual(agent['ipAddresses'], ['10.99.0.11']);
    const manager = await json([
      'cert',
      'issue',
      '--role',
      'manager',
      '--name',
      'm1',
      '--ca',
      ca,
      '--out',
      dir,
      '--prefix',
      'manager',
      '--days',
      '30',
    ]);
    assert.equal(manager['keyPath'], join(dir, 'manager-key.pem'));
    assert.equal(mode(join(dir, 'agent-key.pem')), 0o600);
    const bundle = await loadTlsBundle(dir, { prefix: 'agent' });
    const cert = new X509Certificate(bundle.certPem);
    assert.match(cert.subject, /OU=lifeboat-agent/);
    assert.match(cert.subjectAltName ?? '', /IP Address:10\.99\.0\.11/);
    assert.match(cert.subjectAltName ?? '', /DNS:node1\.example/);
    const days = (Date.parse(String(manager['notAfter'])) - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days <= 30, `${days} days`);
  });

  test('issue refuses to replace a certificate without --force, and says so in JSON', async () => {
    const dir = join(root, 'alice');
    await json(['cert', 'issue', '--role', 'client', '--name', 'alice', '--ca', ca, '--out', dir]);
    const before = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const refused = await lifeboat([
      'cert',
      'issue',
      '--role',
      'client',
      '--name',
      'alice',
      '--ca',
      ca,
      '--out',
      dir,
      '--json',
    ]);
    assert.equal(refused.code, 1);
    const body = JSON.parse(refused.stdout) as { error: { code: string; hint: string } };
    assert.equal(body.error.code, 'pki_cert_exists');
    assert.match(body.error.hint, /--force/);
    assert.equal(readFileSync(join(dir, 'cert.pem'), 'utf8'), before);
    await json(['cert', 'issue', '--role', 'client', '--name', 'alice', '--ca', ca, '--out', dir, '--force']);
    assert.notEqual(readFileSync(join(dir, 'cert.pem'), 'utf8'), before);
  });

  test('bad input is an error with a hint and exit status 1', async () => {
    const [role, name, intoCa] = await Promise.all([
      lifeboat(['cert', 'issue', '--role', 'root', '--name', 'x', '--ca', ca]),
      lifeboat(['cert', 'issue', '--role', 'client', '--name', 'a b', '--ca', ca, '--out', join(root, 'x')]),
      lifeboat(['cert', 'issue', '--role', 'client', '--name', 'x', '--ca', ca, '--out', ca]),
    ]);
    assert.notEqual(role.code, 0);
    assert.match(role.stderr, /Allowed choices are manager, agent, client/);
    assert.equal(name.code, 1);
    assert.match(name.stderr, /invalid certificate name "a b"\nhint: /);
    assert.equal(intoCa.code, 1);
    assert.match(intoCa.stderr, /the output directory is the CA directory/);
  });

  test('key init writes a 0600 archive key once and prints its id', async () => {
    const path = join(root, 'keys', 'cluster.key');
    const made = await json(['cert', 'key', 'init', '--path', path]);
    assert.equal(mode(path), 0o600);
    assert.equal((await loadKeyring(path)).current.id, made['keyId']);
    const again = await lifeboat(['cert', 'key', 'init', '--path', path]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; refusing to overwrite it/);
  });

  test('lifeboat init prepares a first manager once (CA, archive key, its certificate, an operator, the context), then keeps them', async () => {
    const pkiRoot = join(root, 'init');
    const args = [
      'init',
      '--name',
      'm1',
      '--address',
      '127.0.0.1',
      '--pki-root',
      pkiRoot,
      '--cluster-key',
      join(pkiRoot, 'cluster.key'),
    ];
    const env = { LIFEBOAT_CONTEXT: join(pkiRoot, 'context.json') };
    const run = (extra: string[]): Promise<Run> => lifeboat([...args, ...extra], env);
    const first = await run(['--json']);
    assert.equal(first.code, 0, first.stderr);
    const made = JSON.parse(first.stdout) as {
      made: Record<string, boolean>;
      managerPki: string;
      adminPki: string;
    };
    assert.deepEqual(made.made, { ca: true, clusterKey: true, manager: true, admin: true, context: true });
    assert.equal(mode(join(pkiRoot, 'ca', 'ca-key.pem')), 0o600);
    assert.equal(mode(join(pkiRoot, 'cluster.key')), 0o600);
    assert.equal(mode(join(made.managerPki, 'key.pem')), 0o600);
    assert.match(readFileSync(join(made.managerPki, 'cert.pem'), 'utf8'), /BEGIN CERTIFICATE/);
    const ctx = JSON.parse(readFileSync(join(pkiRoot, 'context.json'), 'utf8')) as {
      managerUrl: string;
      pkiDir: string;
    };
    assert.equal(ctx.managerUrl, 'https://127.0.0.1:7440');
    assert.equal(ctx.pkiDir, made.adminPki);
    const again = await run([]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /kept +CA and its key/);
    assert.doesNotMatch(again.stdout, /made /);
    assert.match(again.stdout, /lifeboat join-token rotate agent/);
  });
});
