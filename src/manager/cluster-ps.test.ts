import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import type { PodmanClient } from '../engine/podman-client.ts';
import type { ContainerListEntry } from '../engine/types.ts';
import type { NodeClient, NodeReport } from '../node-api/node-client.ts';
import type { Scheduler } from '../scheduler/index.ts';
import { EmbeddedStore } from '../store/index.ts';
import { ClusterDockerBackend } from './cluster-docker-backend.ts';
import { ClusterState } from './cluster-state.ts';
import { EventLog } from './events.ts';
import { HostActivity } from './host-activity.ts';
import type { NodeRegistry } from './node-registry.ts';
import type { NodeRecord } from './records.ts';

// docker ps in a large cluster: from the heartbeat reports, except for hosts
// this manager changed lately or whose report is not fresh (asked live).

function entry(name: string, state: string): ContainerListEntry {
  return {
    Id: `${name}-id`,
    Names: [name],
    Image: 'busybox',
    ImageID: 'b',
    State: state,
    Status: '',
    Created: 1,
    Labels: {},
    Ports: null,
    Command: null,
    Pid: 0,
    ExitCode: 0,
    Exited: state === 'exited',
    StartedAt: 1,
  } as ContainerListEntry;
}

let reports: Record<string, ContainerListEntry[]>;
let live: Record<string, ContainerListEntry[]>;
let asked: string[];
let silent: Record<string, number>;
let activity: HostActivity;

function record(name: string): NodeRecord {
  return {
    report: {
      name,
      address: `10.0.0.${name.slice(1)}`,
      containers: reports[name] ?? [],
    } as unknown as NodeReport,
    apiUrl: '',
    bootId: 'b',
    lastHeartbeat: 0,
    status: 'healthy',
  } as NodeRecord;
}

const clients = new Map<string, NodeClient>();
function client(name: string): NodeClient {
  let c = clients.get(name);
  if (!c) {
    c = {
      name,
      podman: {
        listContainers: async () => {
          asked.push(name);
          return live[name] ?? [];
        },
      } as unknown as PodmanClient,
    } as unknown as NodeClient;
    clients.set(name, c);
  }
  return c;
}

const hosts = ['h1', 'h2', 'h3'];
const nodes = {
  healthy: async () => hosts.map(record),
  all: async () => hosts.map(record),
  client,
  silentMs: (h: string) => silent[h] ?? 100,
} as unknown as NodeRegistry;

async function ps(above: number): Promise<string[]> {
  const b = new ClusterDockerBackend({
    state: new ClusterState(await EmbeddedStore.open({})),
    nodes,
    scheduler: {} as Scheduler,
    events: new EventLog(),
    checkpointDir: '/nonexistent',
    activity,
    psFromReportsAbove: above,
  });
  const rows = await b.listContainers({ all: true, filters: {} } as never);
  return rows.map((r) => `${r.Names[0]}:${r.State}`).sort();
}

beforeEach(() => {
  reports = { h1: [entry('a', 'running')], h2: [entry('b', 'running')], h3: [entry('c', 'running')] };
  live = { h1: [entry('a', 'running')], h2: [entry('b', 'exited')], h3: [entry('c', 'exited')] };
  asked = [];
  silent = {};
  activity = new HostActivity(3000);
});

describe('docker ps across the cluster', () => {
  test('a small cluster asks every host', async () => {
    assert.deepEqual(await ps(20), ['/a:running', '/b:exited', '/c:exited']);
    assert.deepEqual(asked.sort(), hosts);
  });

  test('a large cluster answers from the reports of hosts nobody changed lately, and asks the others', async () => {
    // h2 was just changed through this manager (a stop), h3 has not reported for 5 s
    const done = activity.begin('h2');
    done();
    silent['h3'] = 5000;
    assert.deepEqual(await ps(2), ['/a:running', '/b:exited', '/c:exited']);
    assert.deepEqual(asked.sort(), ['h2', 'h3'], 'h1 answered from its report');
  });
});
