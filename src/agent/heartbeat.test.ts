import { after, before, describe, test } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createLogger } from '../util/log.ts';
import { fenceRecordPath, readContact, recordFence } from './contact-file.ts';
import { HeartbeatLoop, type HeartbeatOptions } from './heartbeat.ts';
import type { NodeReport } from '../node-api/node-client.ts';
import type { HeartbeatResponse } from '../node-api/heartbeat-protocol.ts';
import { FakeManager, makeTestPki, type TestPki } from './test-support.ts';

const report: NodeReport = {
  name: 'node-a',
  address: '127.0.0.1',
  labels: {},
  cpus: 2,
  memoryBytes: 1 << 30,
  containers: [],
  capabilities: { canCheckpoint: true, canPreDump: false, softDirty: 'no', criu: null },
  images: [],
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `fenceMs`: how long stopping the containers takes; `containers`: what its report lists. */
function fakeNode(calls: string[], fenceMs = 0, containers: NodeReport['containers'] = []) {
  return {
    name: 'node-a',
    report: async () => ({ ...report, containers }),
    fence: async (): Promise<string[]> => {
      calls.push('fence');
      if (fenceMs > 0) await sleep(fenceMs);
      return ['web'];
    },
    reconcile: async (
      elsewhere: ReadonlySet<string>,
      seen?: ReadonlyMap<string, string>,
    ): Promise<string[]> => {
      const ids = [...(seen ?? [])].filter(([n]) => elsewhere.has(n)).map(([n, id]) => `${n}=${id}`);
      calls.push(`reconcile:${[...elsewhere].join(',')}${ids.length ? ` seen ${ids.join(',')}` : ''}`);
      return [...elsewhere];
    },
  };
}

const quiet = createLogger('test', () => undefined);

/** A loop pushing beats to `m` every 100 ms, started, and stopped with `m` after the test. */
async function pushing(
  t: { after: (fn: () => Promise<void>) => void },
  m: FakeManager,
  node: HeartbeatOptions['node'],
  tls: HeartbeatOptions['tls'],
  extra: Partial<HeartbeatOptions> = {},
): Promise<HeartbeatLoop> {
  const loop = new HeartbeatLoop({
    node,
    managers: [{ host: '127.0.0.1', port: await m.listen() }],
    tls,
    apiUrl: 'https://127.0.0.1:1',
    intervalMs: 100,
    requestTimeoutMs: 300,
    logger: quiet,
    ...extra,
  });
  t.after(async () => {
    await loop.stop();
    await m.close();
  });
  loop.start();
  return loop;
}

describe('heartbeat loop (fake managers, fake node)', () => {
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
  });
  after(() => pki.remove());

  test('beats carry the report, a boot id and a rising sequence; a refusing manager is skipped', async (t) => {
    const refusing = new FakeManager(pki.manager);
    refusing.mode = 'refuse';
    const good = new FakeManager(pki.manager);
    good.answer = { failureTimeoutMs: 3000, elsewhere: [], leader: 'manager-1' };
    const calls: string[] = [];
    const loop = new HeartbeatLoop({
      node: fakeNode(calls),
      managers: [
        { host: '127.0.0.1', port: await refusing.listen() },
        { host: '127.0.0.1', port: await good.listen() },
      ],
      tls: pki.agent,
      apiUrl: 'https://127.0.0.1:1',
      intervalMs: 50,
      logger: quiet,
    });
    t.after(async () => {
      await loop.stop();
      await refusing.close();
      await good.close();
    });
    loop.start();
    await good.next((h) => h.sequence >= 3, 5000);
    const [h1, h2] = good.heartbeats;
    assert.equal(h1?.bootId, loop.bootId);
    assert.equal(h1?.report.name, 'node-a');
    assert.equal(h1?.state, 'connected');
    assert.ok((h2?.sequence ?? 0) > (h1?.sequence ?? 0));
    assert.equal(loop.lastAccepted?.response.leader, 'manager-1');
    assert.deepEqual(calls, []);
  });

  test('cut off: fences once before the deadline; back: reconciles, then reports healthy', async (t) => {
    const m = new FakeManager(pki.manager);
    // a 3 s timeout gives a 600 ms margin (fence after 2.4 s): room for timer lag on a loaded machine
    m.answer = { failureTimeoutMs: 3000, elsewhere: [] };
    const calls: string[] = [];
    const loop = await pushing(t, m, fakeNode(calls), pki.agent);
    await m.next(() => true, 10_000);
    m.mode = 'hang';
    const cut = Date.now();
    while (!calls.includes('fence') && Date.now() - cut < 6000) await sleep(20);
    const fencedAfter = Date.now() - cut;
    assert.deepEqual(calls, ['fence']);
    assert.ok(fencedAfter < 3000, `fenced ${fencedAfter} ms after the last contact (deadline 3000 ms)`);
    assert.equal(loop.state, 'fenced');
    await sleep(300);
    assert.deepEqual(calls, ['fence'], 'fences once');

    m.answer = { failureTimeoutMs: 3000, elsewhere: ['web'] };
    m.mode = 'accept';
    const healthy = await m.next((h) => h.state === 'connected', 10_000);
    // later answers still list `web`, but this host no longer reports it: nothing more to remove
    await sleep(300);
    assert.deepEqual(calls, ['fence', 'reconcile:web']);
    const firstBack = m.heartbeats.find((h) => h.sequence < healthy.sequence && h.state !== 'connected');
    assert.ok(firstBack, 'the beat that re-established contact did not claim health');
    assert.deepEqual(firstBack.fenced, ['web']);
    assert.deepEqual(healthy.fenced, []);
  });

  test('elsewhere: only the copies the answered beat listed, by the IDs it listed', async (t) => {
    const m = new FakeManager(pki.manager);
    m.answer = { failureTimeoutMs: 3000, elsewhere: ['web', 'not-here'] };
    const calls: string[] = [];
    const listed = [
      { Names: ['web'], Id: 'a1'.repeat(32), State: 'running' },
      { Names: ['db'], Id: 'b2'.repeat(32), State: 'running' },
    ] as unknown as NodeReport['containers'];
    await pushing(t, m, fakeNode(calls, 0, listed), pki.agent);
    await m.next(() => true, 10_000);
    while (calls.length === 0) await sleep(20);
    // a copy named web created here after that beat has another ID: the agent's reconcile keeps it
    assert.equal(calls[0], `reconcile:web seen web=${'a1'.repeat(32)}`);
  });

  test('an answer that crosses the fence does not end it: the next beat names what the fence stopped', async (t) => {
    const m = new FakeManager(pki.manager);
    m.answer = { failureTimeoutMs: 3000, elsewhere: [] };
    const calls: string[] = [];
    // the answer arrives while the fence is still stopping containers
    await pushing(t, m, fakeNode(calls, 800), pki.agent, { requestTimeoutMs: 2900 });
    await m.next(() => true, 10_000);
    // the next beat, built while connected, is answered only after the fence (2.4 s)
    m.delayMs = 2700;
    const late = await m.next(() => true, 5000);
    assert.equal(late.state, 'connected');
    while (!calls.includes('fence')) await sleep(20);
    m.delayMs = 0;
    const healthy = await m.next((h) => h.state === 'connected' && h.sequence > late.sequence, 10_000);
    const named = m.heartbeats.filter((h) => h.sequence > late.sequence && h.sequence < healthy.sequence);
    assert.ok(
      named.some((h) => h.state !== 'connected' && h.fenced.includes('web')),
      'a manager heard which containers the fence stopped before the agent reported healthy',
    );
  });

  test("started again after a crash: the predecessor's silence counts, past the deadline it fences at once", async (t) => {
    const m = new FakeManager(pki.manager);
    m.answer = { failureTimeoutMs: 3000, elsewhere: [] };
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-hb-'));
    const contactFile = join(dir, 'last-contact');
    writeFileSync(contactFile, String(Date.now() - 10_000));
    const calls: string[] = [];
    const loop = new HeartbeatLoop({
      node: fakeNode(calls),
      managers: [{ host: '127.0.0.1', port: await m.listen() }],
      tls: pki.agent,
      apiUrl: 'https://127.0.0.1:1',
      intervalMs: 100,
      contactFile,
      logger: quiet,
    });
    t.after(async () => {
      await loop.stop();
      await m.close();
      rmSync(dir, { recursive: true, force: true });
    });
    loop.start();
    assert.deepEqual(calls, ['fence'], 'fenced before the first beat');
    await m.next((h) => h.state === 'connected', 10_000);
    const recorded = readContact(contactFile);
    assert.ok(recorded && Date.now() - recorded.at < 5000, 'contact recorded');
    assert.equal(recorded.fenceAfterMs, 2400, 'with the fence deadline, for the fence guard');
  });

  test('a server without a manager certificate never counts as contact', async (t) => {
    const impostor = new FakeManager(pki.agent);
    const loop = new HeartbeatLoop({
      node: fakeNode([]),
      managers: [{ host: '127.0.0.1', port: await impostor.listen() }],
      tls: pki.agent,
      apiUrl: 'https://127.0.0.1:1',
      intervalMs: 50,
      logger: quiet,
    });
    t.after(async () => {
      await loop.stop();
      await impostor.close();
    });
    loop.start();
    await sleep(300);
    assert.equal(impostor.heartbeats.length, 0);
    assert.equal(loop.lastAccepted, undefined);
  });
});

describe('heartbeat loop pulled by managers (static discovery)', () => {
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
  });
  after(() => pki.remove());

  test('answered polls are contact; none for the failure timeout fences; an answer to an unknown poll is refused', async (t) => {
    const calls: string[] = [];
    // a function, not an inline check: assert.deepEqual(calls, []) below narrows `calls` to never[]
    const fenced = (): boolean => calls.includes('fence');
    const loop = new HeartbeatLoop({
      node: fakeNode(calls),
      managers: [],
      tls: pki.agent,
      apiUrl: 'https://127.0.0.1:1',
      intervalMs: 50,
      // fence after 1.4 s without an answer: the polls below come every 100 ms, and a stall of the
      // test's event loop on a loaded machine must not look like silence
      failureTimeoutMs: 1500,
      fenceMarginMs: 100,
      logger: quiet,
    });
    t.after(() => loop.stop());
    loop.start();
    for (let i = 0; i < 8; i++) {
      const hb = await loop.pulled();
      assert.equal(hb.report.name, 'node-a');
      await loop.answered('m1', hb.sequence, { accepted: true, failureTimeoutMs: 1500, elsewhere: [] });
      await sleep(100);
    }
    assert.deepEqual(calls, [], 'polled every 100 ms: never fenced');
    assert.equal(loop.state, 'connected');
    await assert.rejects(
      loop.answered('m1', 9999, { accepted: true, failureTimeoutMs: 1500, elsewhere: [] }),
      /no pulled heartbeat 9999/,
    );
    const silentFrom = Date.now();
    while (!fenced() && Date.now() - silentFrom < 5000) await sleep(20);
    assert.deepEqual(calls, ['fence'], 'no poll for the failure timeout: fenced');
    const hb = await loop.pulled();
    assert.equal(hb.state, 'fenced');
    await loop.answered('m1', hb.sequence, { accepted: true, failureTimeoutMs: 1500, elsewhere: ['web'] });
    assert.deepEqual(calls, ['fence', 'reconcile:web']);
    assert.equal(loop.state, 'connected');
  });

  test('what the fence guard stopped is named in the beats until a manager accepted one naming it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-hb-guard-'));
    const contactFile = join(dir, 'last-contact');
    const calls: string[] = [];
    const loop = new HeartbeatLoop({
      node: fakeNode(calls),
      managers: [],
      tls: pki.agent,
      apiUrl: 'https://127.0.0.1:1',
      contactFile,
      failureTimeoutMs: 60_000,
      logger: quiet,
    });
    t.after(async () => {
      await loop.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    loop.start();
    const answer: HeartbeatResponse = { accepted: true, failureTimeoutMs: 60_000, elsewhere: [] };
    const before = await loop.pulled();
    assert.deepEqual(before.fenced, []);
    // the guard fenced (its deadline came first) while the agent still counted itself connected
    recordFence(fenceRecordPath(contactFile), ['db']);
    await sleep(300);
    // an answer to a beat built before the record does not count as the managers knowing
    await loop.answered('m1', before.sequence, answer);
    const naming = await loop.pulled();
    assert.equal(naming.state, 'connected');
    assert.deepEqual(naming.fenced, ['db']);
    await loop.answered('m1', naming.sequence, answer);
    assert.deepEqual((await loop.pulled()).fenced, [], 'heard of: no longer named');
    assert.deepEqual(calls, [], 'the agent itself fenced nothing');
  });
});
