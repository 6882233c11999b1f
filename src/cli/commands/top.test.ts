import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTop } from './top.ts';

test('lifeboat top: hosts, then containers by host with policy, interval and newest checkpoint', () => {
  const now = Date.parse('2026-12-06T12:00:10Z');
  const text = renderTop(
    {
      manager: 'manager-1',
      leader: 'manager-1',
      time: '',
      nodes: [
        {
          name: 'n1',
          address: '10.99.0.11',
          status: 'healthy',
          lastHeartbeatMsAgo: 400,
          running: 1,
          containers: 1,
        },
        {
          name: 'n2',
          address: '10.99.0.12',
          status: 'failed',
          lastHeartbeatMsAgo: 9000,
          running: 0,
          containers: 1,
        },
      ],
      containers: [
        { name: 'web', node: 'n2', phase: 'lost' },
        {
          name: 'kv',
          node: 'n1',
          phase: 'running',
          restorePolicy: 'checkpoint',
          ticker: { intervalMs: 2000 },
          checkpoint: { version: 7, group: 2, lastCheckpointAt: '2026-12-06T12:00:08.500Z' },
        },
      ],
    },
    now,
  );
  assert.match(text, /^lifeboat · leader manager-1/);
  assert.match(text, /n2\s+10\.99\.0\.12\s+failed\s+9\.0s ago\s+0\/1/);
  const lines = text.split('\n');
  const kv = lines.findIndex((l) => l.startsWith('kv '));
  const web = lines.findIndex((l) => l.startsWith('web '));
  assert.ok(kv > 0 && web > kv, 'containers in host order');
  assert.match(lines[kv]!, /kv\s+n1\s+running\s+checkpoint\s+2s\s+v7 1\.5s ago/);
  assert.match(lines[web]!, /web\s+n2\s+lost\s+-\s+-\s+-/);
});
