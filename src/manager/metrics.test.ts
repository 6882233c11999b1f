import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventLog } from './events.ts';
import { failureKind, ManagerMetrics } from './metrics.ts';

test('metrics follow the event log: checkpoints, failures by kind, migrations, restores, detection', async () => {
  const events = new EventLog(100, {
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
  } as never);
  const m = new ManagerMetrics(
    { name: 'm1', isLeader: () => true, nodes: () => Promise.resolve([]), silentMs: () => 0 },
    events,
  );
  events.emit('checkpoint.done', 'ok', {
    container: 'web',
    node: 'n1',
    fields: { durationMs: 800, frozenTimeUs: 120_000, bytes: 5e6 },
  });
  events.emit('checkpoint.failed', 'x', {
    container: 'web',
    fields: { reason: "container web's checkpoints take 2 MB of its 1 MB quota" },
  });
  events.emit('migrate.done', 'ok', {
    container: 'web',
    fields: { totalMs: 1500, frozenTimeUs: 90_000, checkpointMs: 400, transferMs: 300 },
  });
  events.emit('migrate.failed', 'no', { container: 'web' });
  events.emit('restore.done', 'ok', { container: 'web', fields: { durationMs: 700 } });
  events.emit('node.failed', 'host n1 failed: no heartbeat for 5250 ms (timeout 5000 ms)', { node: 'n1' });
  events.emit('manager.leader', 'm1 leads');
  m.observeRequest('GET /containers/json', 200, 0.02);
  const text = await m.text();
  for (const line of [
    'lifeboat_checkpoint_duration_seconds_count 1',
    'lifeboat_migration_phase_duration_seconds_count{phase="transfer"} 1',
    'lifeboat_checkpoint_failures_total{kind="quota_exceeded"} 1',
    'lifeboat_migrations_total{outcome="done"} 1',
    'lifeboat_migrations_total{outcome="failed"} 1',
    'lifeboat_restores_total{outcome="restored"} 1',
    'lifeboat_failure_detection_seconds_sum 5.25',
    'lifeboat_leader_elections_total 1',
    'lifeboat_leader{manager="m1"} 1',
    'lifeboat_docker_api_requests_total{route="GET /containers/json",code="2xx"} 1',
  ])
    assert.ok(text.includes(line), `${line}\n${text}`);
  assert.match(text, /lifeboat_recovery_point_seconds\{container="web"\} \d/);
  assert.match(text, /lifeboat_checkpoint_frozen_seconds_count\{kind="migration"\} 1/);
  events.emit('container.remove', 'gone', { container: 'web' });
  assert.doesNotMatch(await m.text(), /lifeboat_recovery_point_seconds\{container="web"\}/);
});

test('checkpoint failures fall into a few kinds', () => {
  assert.equal(
    failureKind('the checkpoint store at /x has 0.5 MB free, and keeps 0.4 MB free: no room'),
    'store_full',
  );
  assert.equal(failureKind('host n1 is not answering: no heartbeat for 2100 ms'), 'host_unreachable');
  assert.equal(failureKind('CRIU dump failed: ...'), 'criu');
  assert.equal(failureKind('something new'), 'other');
});
