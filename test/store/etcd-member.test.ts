import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createClusterCa, issueToDirectory, loadTlsBundle } from '../../src/pki/index.ts';
import { openStore } from '../../src/store/index.ts';
import { parseInitialCluster } from '../../src/cli/commands/etcd.ts';

const REPO = resolve(import.meta.dirname, '../..');

function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

function lifeboat(args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: REPO,
    env: { ...process.env, LIFEBOAT_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function output(p: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => p.on('close', (code) => res({ code, stdout, stderr })));
}

test('--initial-cluster: names, addresses and default peer ports; the token is the same for the same list', () => {
  const a = parseInitialCluster('e1=10.0.0.1, e2=10.0.0.2:2390,e3=[fd00::3]', 2380);
  assert.equal(
    a.initialCluster,
    'e1=https://10.0.0.1:2380,e2=https://10.0.0.2:2390,e3=https://[fd00::3]:2380',
  );
  assert.equal(a.token, parseInitialCluster('e1=10.0.0.1,e2=10.0.0.2:2390,e3=[fd00::3]', 2380).token);
  assert.throws(() => parseInitialCluster('e1=10.0.0.1,e2=10.0.0.2', 2380), /an etcd cluster has 1, 3 or 5/);
  assert.throws(() => parseInitialCluster('e1=10.0.0.1,e1=10.0.0.2,e3=x', 2380), /twice/);
  assert.throws(() => parseInitialCluster('10.0.0.1', 2380), /not NAME=HOST/);
});

describe("lifeboat etcd member: three members with mutual TLS from etcd's own CA", () => {
  let root: string;
  const members: ChildProcess[] = [];
  const ports: number[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'lifeboat-etcd-member-'));
    await createClusterCa(join(root, 'etcd-ca'));
    for (let i = 0; i < 3; i++)
      await issueToDirectory(join(root, 'etcd-ca'), 'manager', `e${i}`, join(root, `e${i}`), {
        ipAddresses: ['127.0.0.1'],
      });
    await issueToDirectory(join(root, 'etcd-ca'), 'manager', 'm1', join(root, 'm1-etcd'));
    for (let i = 0; i < 6; i++) ports.push(await freePort());
  });

  after(async () => {
    for (const m of members) if (m.exitCode === null) m.kill('SIGTERM');
    await Promise.all(
      members.map((m) => (m.exitCode === null ? new Promise((r) => m.on('exit', r)) : undefined)),
    );
    rmSync(root, { recursive: true, force: true });
  });

  const memberArgs = (i: number): string[] => [
    'etcd',
    'member',
    '--name',
    `e${i}`,
    '--address',
    '127.0.0.1',
    '--client-port',
    String(ports[2 * i]),
    '--peer-port',
    String(ports[2 * i + 1]),
    '--initial-cluster',
    [0, 1, 2].map((j) => `e${j}=127.0.0.1:${ports[2 * j + 1]}`).join(','),
    '--pki',
    join(root, `e${i}`),
    '--data-dir',
    join(root, 'data'),
  ];

  test('--print shows the command line; a member missing from the list is refused', async () => {
    const printed = await output(lifeboat([...memberArgs(0), '--print']));
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^etcd --name=e0 /);
    assert.match(printed.stdout, /--client-cert-auth .*--peer-client-cert-auth/);
    assert.match(printed.stdout, /--auto-compaction-retention=1m/);
    const wrong = await output(lifeboat([...memberArgs(0).map((a) => (a === 'e0' ? 'e9' : a)), '--print']));
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /does not name this member \(e9\)/);
  });

  test('the three members form a cluster a manager reaches with its etcd certificate, and stop on SIGTERM', async () => {
    for (let i = 0; i < 3; i++) members.push(lifeboat(memberArgs(i)));
    const url = `etcd://${[0, 1, 2].map((i) => `127.0.0.1:${ports[2 * i]}`).join(',')}/lifeboat`;
    const tls = await loadTlsBundle(join(root, 'm1-etcd'));
    const deadline = Date.now() + 30_000;
    let stored: string | undefined;
    let last: unknown;
    while (Date.now() < deadline && stored === undefined) {
      const store = await openStore(url, { tls }).catch((err: unknown) => {
        last = err;
        return undefined;
      });
      if (store) {
        try {
          await store.put('probe', 'ok');
          stored = (await store.get('probe'))?.value;
        } catch (err) {
          last = err;
        } finally {
          await store.close();
        }
      }
      if (stored === undefined) await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(stored, 'ok', `the store answered within 30 s (last error: ${String(last)})`);
    const exits = members.map((m) => new Promise<number | null>((r) => m.on('exit', (code) => r(code))));
    for (const m of members) m.kill('SIGTERM');
    const codes = await Promise.all(exits);
    assert.equal(codes.length, 3, 'every member exits when its lifeboat process is stopped');
  });
});
