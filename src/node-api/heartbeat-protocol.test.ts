import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseHeartbeatRequest,
  parseHeartbeatResponse,
  type HeartbeatRequest,
} from './heartbeat-protocol.ts';

const request: HeartbeatRequest = {
  protocol: 1,
  report: {
    name: 'node1',
    address: '10.99.0.11',
    labels: { zone: 'a' },
    cpus: 2,
    memoryBytes: 1 << 30,
    containers: [
      {
        Id: 'abc',
        Names: ['web'],
        Image: 'busybox',
        ImageID: 'sha',
        State: 'running',
        Status: 'Up',
        Created: 1,
        Labels: null,
        Ports: null,
        Command: null,
        Pid: 5,
        ExitCode: 0,
        Exited: false,
        StartedAt: 1,
      },
    ],
    capabilities: { canCheckpoint: true, canPreDump: false, softDirty: 'missing', criu: '4.2' },
    images: [{ id: 'sha', names: ['busybox'] }],
  },
  apiUrl: 'https://10.99.0.11:7443',
  bootId: 'b-1',
  sequence: 3,
  state: 'connected',
  fenced: [],
  sentAt: new Date(0).toISOString(),
};

test('a well-formed heartbeat passes unchanged (through JSON)', () => {
  assert.deepEqual(parseHeartbeatRequest(JSON.parse(JSON.stringify(request))), request);
});

test('malformed heartbeats are 400s naming the field', () => {
  const bad = (patch: Record<string, unknown>, re: RegExp): void =>
    assert.throws(
      () => parseHeartbeatRequest({ ...request, ...patch }),
      (e: unknown) => e instanceof Error && re.test(e.message) && (e as { status?: number }).status === 400,
    );
  bad({ protocol: 2 }, /protocol 2/);
  bad({ apiUrl: 'http://x' }, /apiUrl/);
  bad({ sequence: 0 }, /sequence/);
  bad({ state: 'happy' }, /state/);
  bad({ report: { ...request.report, containers: [{ Id: 1 }] } }, /containers\[0\]\.Id/);
  bad({ report: { ...request.report, labels: { a: 1 } } }, /labels\.a/);
});

test('answers: only accepted:true with a sane timeout counts', () => {
  assert.deepEqual(
    parseHeartbeatResponse({ accepted: true, failureTimeoutMs: 5000, elsewhere: ['web'], leader: 'm1' }),
    {
      accepted: true,
      failureTimeoutMs: 5000,
      elsewhere: ['web'],
      leader: 'm1',
    },
  );
  assert.deepEqual(parseHeartbeatResponse({ accepted: true, failureTimeoutMs: 5000 }).elsewhere, []);
  assert.throws(() => parseHeartbeatResponse({ accepted: false, failureTimeoutMs: 5000 }), /accepted/);
  assert.throws(
    () => parseHeartbeatResponse({ accepted: true, failureTimeoutMs: 5 }),
    /failureTimeoutMs: Too small/,
  );
  assert.throws(
    () => parseHeartbeatResponse({ accepted: true, failureTimeoutMs: 5000, elsewhere: [1] }),
    /elsewhere/,
  );
});

test("answers: the cluster network's plan is checked entry by entry; a newer manager's extra field is dropped", () => {
  const plan = {
    subnet: '10.199.0.0/16',
    gateway: '10.199.0.1',
    bridge: 'lbc0',
    routes: [['10.199.0.5', '10.99.0.12']],
    names: [['10.199.0.5', 'kv', 'cache']],
  };
  const ok = parseHeartbeatResponse({
    accepted: true,
    failureTimeoutMs: 5000,
    clusterNetwork: plan,
    later: 1,
  });
  assert.deepEqual(ok, { accepted: true, failureTimeoutMs: 5000, elsewhere: [], clusterNetwork: plan });
  const bad = (patch: Record<string, unknown>, re: RegExp): void =>
    assert.throws(
      () =>
        parseHeartbeatResponse({
          accepted: true,
          failureTimeoutMs: 5000,
          clusterNetwork: { ...plan, ...patch },
        }),
      re,
    );
  bad({ routes: [['10.199.0.5']] }, /clusterNetwork\.routes\[0\]/);
  bad({ routes: [['10.199.0.5', 'host']] }, /clusterNetwork\.routes\[0\]\[1\]: expected an IPv4 address/);
  bad({ names: [['10.199.0.5', '-x']] }, /clusterNetwork\.names\[0\]\[1\]: expected a DNS name/);
  bad({ subnet: '10.199.0.0' }, /clusterNetwork\.subnet: expected an IPv4 subnet/);
  bad({ bridge: 'a-very-long-bridge-name' }, /clusterNetwork\.bridge: expected an interface name/);
  assert.throws(
    () => parseHeartbeatResponse({ accepted: true, failureTimeoutMs: 5000, revoked: ['ab'] }),
    /revoked\[0\]: expected a certificate serial/,
  );
});
