import type { DockerEvent } from '../api/docker/events.ts';
import type { ClusterEvent } from './events.ts';

/**
 * The cluster's events as `docker events` shows them. Container events
 * keep Docker's actions (create, start, stop, kill, destroy, pause,
 * unpause, rename); lifeboat's own decisions keep their names as the
 * action (migrate.start, checkpoint.failed, restore.attempt ...), so a
 * failover reads in order; hosts are classic Swarm's engine_connect and
 * engine_disconnect. Every event carries the node and lifeboat's message.
 */
const CONTAINER_ACTIONS: Record<string, string> = {
  'container.create': 'create',
  'container.start': 'start',
  'container.stop': 'stop',
  'container.kill': 'kill',
  'container.restart': 'restart',
  'container.remove': 'destroy',
  'container.pause': 'pause',
  'container.unpause': 'unpause',
  'container.rename': 'rename',
};

const NODE_ACTIONS: Record<string, string> = {
  'node.join': 'engine_connect',
  'node.recovered': 'engine_connect',
  'node.reboot': 'engine_reconnect',
  'node.failed': 'engine_disconnect',
};

export function toDockerEvent(e: ClusterEvent): DockerEvent {
  const ms = Date.parse(e.time);
  const attributes: Record<string, string> = { 'lifeboat.event': e.type, 'lifeboat.message': e.message };
  if (e.node) attributes['node'] = e.node;
  for (const [k, v] of Object.entries(e.fields ?? {}))
    if (v !== undefined && v !== null) attributes[`lifeboat.${k}`] = String(v);
  const time = { time: Math.floor(ms / 1000), timeNano: ms * 1_000_000 };
  if (e.container) {
    const action = CONTAINER_ACTIONS[e.type] ?? e.type;
    attributes['name'] = e.container;
    return {
      Type: 'container',
      Action: action,
      Actor: { ID: e.container, Attributes: attributes },
      scope: 'swarm',
      status: action,
      id: e.container,
      ...time,
    };
  }
  if (e.node || e.type.startsWith('node.')) {
    const node = e.node ?? '';
    return {
      Type: 'node',
      Action: NODE_ACTIONS[e.type] ?? e.type,
      Actor: { ID: node, Attributes: { ...attributes, name: node } },
      scope: 'swarm',
      ...time,
    };
  }
  return {
    Type: 'daemon',
    Action: e.type,
    Actor: { ID: 'lifeboat', Attributes: attributes },
    scope: 'swarm',
    ...time,
  };
}
