import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { installPlan } from './install-units.ts';

const run = promisify(execFile);
const BIN = resolve(import.meta.dirname, '../../bin/lifeboat');

/** `systemd-analyze verify` of the plan's units, written into a scratch root (no systemd needs to run). */
async function verify(role: 'agent' | 'manager' | 'etcd', args: string[]): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'lb-units-'));
  try {
    const plan = installPlan({
      role,
      bin: BIN,
      args,
      unitDir: join(root, 'units'),
      configDir: join(root, 'etc'),
      containersConfDir: join(root, 'containers.conf.d'),
    });
    for (const f of plan.files) {
      mkdirSync(resolve(f.path, '..'), { recursive: true });
      writeFileSync(f.path, f.content, { mode: f.mode });
    }
    const units = plan.files.filter((f) => f.path.endsWith('.service')).map((f) => f.path);
    const r = await run('systemd-analyze', ['verify', ...units], {
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'warning' },
    });
    return r.stderr + r.stdout;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

describe('lifeboat install: the units', () => {
  test('agent: its unit, the fence guard beside it, Podman settings; systemd-analyze verify passes', async () => {
    const plan = installPlan({
      role: 'agent',
      bin: '/usr/local/bin/lifeboat',
      args: ['--name', 'node1', '--address', '10.0.1.11', '--manager', '10.0.0.1:7440,10.0.0.2:7440'],
      unitDir: '/etc/systemd/system',
      configDir: '/etc/lifeboat',
    });
    assert.deepEqual(
      plan.files.map((f) => f.path),
      [
        '/etc/lifeboat/agent.env',
        '/etc/systemd/system/lifeboat-agent.service',
        '/etc/systemd/system/lifeboat-fence-guard.service',
        '/etc/containers/containers.conf.d/50-lifeboat.conf',
      ],
    );
    assert.equal(plan.files[0]!.mode, 0o600);
    assert.match(
      plan.files[0]!.content,
      /^LIFEBOAT_AGENT_ARGS=--name node1 --address 10\.0\.1\.11 --manager/m,
    );
    assert.match(plan.files[1]!.content, /ExecStart=\/usr\/local\/bin\/lifeboat agent \$LIFEBOAT_AGENT_ARGS/);
    assert.match(plan.files[1]!.content, /KillMode=process/);
    assert.match(
      plan.files[2]!.content,
      /fence-guard --contact-file \/var\/lib\/lifeboat\/spool\/last-contact/,
    );
    assert.match(plan.files[3]!.content, /cgroup_manager = "cgroupfs"/);
    assert.deepEqual(plan.enable, [
      'podman.socket',
      'lifeboat-agent.service',
      'lifeboat-fence-guard.service',
    ]);
    const out = await verify('agent', ['--name', 'node1', '--address', '10.0.1.11']);
    assert.doesNotMatch(out, /lifeboat-(agent|fence-guard)\.service/, out);
  });

  test('manager: one unit; systemd-analyze verify passes', async () => {
    const out = await verify('manager', ['--name', 'm1', '--listen', '10.0.0.1:7440']);
    assert.doesNotMatch(out, /lifeboat-manager\.service/, out);
  });

  test('etcd: one unit running lifeboat etcd member; systemd-analyze verify passes', async () => {
    const args = [
      '--name',
      'e1',
      '--address',
      '10.0.0.1',
      '--initial-cluster',
      'e1=10.0.0.1,e2=10.0.0.2,e3=10.0.0.3',
    ];
    const plan = installPlan({
      role: 'etcd',
      bin: BIN,
      args: [...args, '--pki', '/p'],
      unitDir: '/u',
      configDir: '/c',
    });
    assert.deepEqual(plan.enable, ['lifeboat-etcd.service']);
    assert.match(
      plan.files.find((f) => f.path === '/u/lifeboat-etcd.service')?.content ?? '',
      /ExecStart=.* etcd member \$LIFEBOAT_ETCD_ARGS/,
    );
    const out = await verify('etcd', [...args, '--pki', '/p']);
    assert.doesNotMatch(out, /lifeboat-etcd\.service/, out);
  });

  test('an argument that would split in the environment file is refused', () => {
    assert.throws(
      () =>
        installPlan({
          role: 'manager',
          bin: '/usr/local/bin/lifeboat',
          args: ['--name', 'my manager'],
          unitDir: '/u',
          configDir: '/c',
        }),
      /"my manager" cannot go into a systemd environment file as one word/,
    );
  });
});
