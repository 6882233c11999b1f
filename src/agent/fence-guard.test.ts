import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLogger } from '../util/log.ts';
import {
  fenceRecordPath,
  parseContact,
  readContact,
  recordFence,
  takeFenceRecord,
  writeContact,
  type Contact,
} from './contact-file.ts';
import { FenceGuard, killRestorePolicyContainers } from './fence-guard.ts';

const log = createLogger('test/fence-guard');

function guardWith(contact: { value: Contact | undefined }, fenceResult: () => Promise<string[]>) {
  let clock = 0;
  const reasons: string[] = [];
  const recorded: string[][] = [];
  const g = new FenceGuard({
    readContact: () => contact.value,
    fence: async (reason) => {
      reasons.push(reason);
      return fenceResult();
    },
    record: (stopped) => recorded.push(stopped),
    defaultFenceAfterMs: 4000,
    now: () => clock,
    log,
  });
  return { g, reasons, recorded, advance: (ms: number) => (clock += ms) };
}

describe('fence guard', () => {
  test('fences once when the contact file stops changing for the deadline written in it, again after contact', async () => {
    const contact: { value: Contact | undefined } = { value: { at: 1, fenceAfterMs: 3000 } };
    const { g, reasons, recorded, advance } = guardWith(contact, async () => ['r1']);
    assert.equal(await g.check(), 'watching');
    advance(2999);
    assert.equal(await g.check(), 'watching');
    advance(1);
    assert.equal(await g.check(), 'fenced');
    assert.match(reasons[0]!, /no manager contact for 3000 ms \(fence deadline 3000 ms\)/);
    assert.deepEqual(recorded, [['r1']], 'what it stopped is recorded for the agent');
    advance(10_000);
    assert.equal(await g.check(), 'already-fenced');
    assert.equal(reasons.length, 1);
    // contact again: watching anew, fenced again after a new silence
    contact.value = { at: 2, fenceAfterMs: 3000 };
    assert.equal(await g.check(), 'watching');
    advance(3000);
    assert.equal(await g.check(), 'fenced');
    assert.equal(reasons.length, 2);
  });

  test('a steady agent is never fenced; a host whose agent never made contact is left alone', async () => {
    const contact: { value: Contact | undefined } = { value: undefined };
    const { g, reasons, advance } = guardWith(contact, async () => []);
    advance(60_000);
    assert.equal(await g.check(), 'waiting');
    for (let i = 0; i < 20; i++) {
      contact.value = { at: 1000 + i, fenceAfterMs: 4000 };
      assert.equal(await g.check(), 'watching');
      advance(1000);
    }
    assert.deepEqual(reasons, []);
  });

  test('the silence is counted from when the guard saw the file change, not from the time written in it', async () => {
    // a wall clock far off (or a guard started long after the last contact) must not fence at once
    const contact = { value: { at: 0 } as Contact | undefined };
    const { g, reasons, advance } = guardWith(contact, async () => []);
    assert.equal(await g.check(), 'watching');
    advance(3999);
    assert.equal(await g.check(), 'watching');
    advance(1);
    assert.equal(await g.check(), 'fenced');
    assert.match(reasons[0]!, /fence deadline 4000 ms/); // the default, the file names none
  });

  test('a fence that fails is tried again at the next check', async () => {
    let fail = true;
    const contact = { value: { at: 5, fenceAfterMs: 100 } as Contact | undefined };
    const { g, reasons, advance } = guardWith(contact, async () => {
      if (fail) throw new Error('podman socket gone');
      return [];
    });
    await g.check();
    advance(100);
    assert.equal(await g.check(), 'watching');
    fail = false;
    assert.equal(await g.check(), 'fenced');
    assert.equal(reasons.length, 2);
  });

  test('kills only running containers with a restore policy', async () => {
    const killed: string[] = [];
    const podman = {
      listContainers: async () => [
        { Names: ['cp'], Id: 'a', Labels: { 'lifeboat.reschedule': 'checkpoint' } },
        { Names: ['sw'], Id: 'b', Labels: { 'com.docker.swarm.reschedule-policies': '["on-node-failure"]' } },
        { Names: ['plain'], Id: 'c', Labels: {} },
        { Names: ['bad'], Id: 'd', Labels: { 'lifeboat.reschedule': 'nonsense' } },
      ],
      killContainer: async (n: string) => {
        killed.push(n);
      },
    } as unknown as Parameters<typeof killRestorePolicyContainers>[0];
    assert.deepEqual(await killRestorePolicyContainers(podman, log, 'test'), ['cp', 'sw']);
    assert.deepEqual(killed, ['cp', 'sw']);
  });
});

describe('contact file', () => {
  test('round trip, and the bare time older agents wrote', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-contact-'));
    try {
      const f = join(dir, 'spool-not-made-yet', 'last-contact');
      assert.equal(readContact(f), undefined);
      writeContact(f, { at: 1234, fenceAfterMs: 4000 });
      assert.deepEqual(readContact(f), { at: 1234, fenceAfterMs: 4000 });
      writeFileSync(f, '1700000000000');
      assert.deepEqual(readContact(f), { at: 1700000000000 });
      assert.equal(parseContact('{"at":"x"}'), undefined);
      assert.equal(parseContact('garbage'), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the guard's fence record: merged across fences, taken whole once, nothing without one", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lb-fence-record-'));
    try {
      const f = fenceRecordPath(join(dir, 'spool', 'last-contact'));
      assert.deepEqual(takeFenceRecord(f), []);
      recordFence(f, []);
      assert.equal(existsSync(f), false, 'an empty fence writes no record');
      recordFence(f, ['a', 'b']);
      recordFence(f, ['b', 'c']);
      assert.deepEqual(takeFenceRecord(f), ['a', 'b', 'c']);
      assert.deepEqual(takeFenceRecord(f), [], 'taken once');
      assert.deepEqual(readdirSync(join(dir, 'spool')), [], 'nothing left behind');
      writeFileSync(f, 'garbage');
      assert.deepEqual(takeFenceRecord(f), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
