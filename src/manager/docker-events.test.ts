import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesEventFilters } from '../api/docker/events.ts';
import { toDockerEvent } from './docker-events.ts';

const at = '2026-12-06T12:00:00.250Z';

test("cluster events in docker events' shape: container actions, lifeboat's decisions, hosts as engine events", () => {
  const start = toDockerEvent({
    seq: 1,
    time: at,
    type: 'container.start',
    message: 'started',
    container: 'web',
    node: 'n1',
  });
  assert.equal(start.Type, 'container');
  assert.equal(start.Action, 'start');
  assert.equal(start.Actor.Attributes['name'], 'web');
  assert.equal(start.Actor.Attributes['node'], 'n1');
  assert.equal(start.time, Date.parse(at) / 1000 - 0.25);
  assert.equal(start.timeNano, Date.parse(at) * 1e6);
  const restore = toDockerEvent({
    seq: 2,
    time: at,
    type: 'restore.attempt',
    message: 'restoring web on n2',
    container: 'web',
    node: 'n2',
    fields: { version: 7 },
  });
  assert.equal(restore.Action, 'restore.attempt');
  assert.equal(restore.Actor.Attributes['lifeboat.version'], '7');
  const down = toDockerEvent({
    seq: 3,
    time: at,
    type: 'node.failed',
    message: 'host n1 failed',
    node: 'n1',
  });
  assert.deepEqual([down.Type, down.Action, down.Actor.ID], ['node', 'engine_disconnect', 'n1']);
  const leader = toDockerEvent({ seq: 4, time: at, type: 'manager.leader', message: 'm1 leads' });
  assert.equal(leader.Type, 'daemon');

  assert.ok(matchesEventFilters(start, { container: ['web'], event: ['start'] }));
  assert.ok(!matchesEventFilters(start, { container: ['db'] }));
  assert.ok(matchesEventFilters(restore, { event: ['restore.attempt'], node: ['n2'] }));
  assert.ok(!matchesEventFilters(down, { type: ['container'] }));
  assert.ok(matchesEventFilters(down, { type: ['node', 'container'] }));
});
