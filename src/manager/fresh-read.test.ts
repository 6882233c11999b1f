import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FreshRead } from './fresh-read.ts';

/** A read whose answers the test releases by hand, counting how many were started. */
function manualRead(): {
  read: () => Promise<number>;
  started: number;
  finish: (v: number) => void;
  fail: (e: Error) => void;
} {
  const pending: { resolve: (v: number) => void; reject: (e: Error) => void }[] = [];
  const o = {
    started: 0,
    read: () =>
      new Promise<number>((resolve, reject) => {
        o.started++;
        pending.push({ resolve, reject });
      }),
    finish: (v: number) => pending.shift()!.resolve(v),
    fail: (e: Error) => pending.shift()!.reject(e),
  };
  return o;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('FreshRead', () => {
  test('callers during a read share the next one, never the one that began before them', async () => {
    const m = manualRead();
    const f = new FreshRead(m.read);
    const first = f.get();
    const a = f.get();
    const b = f.get();
    assert.equal(m.started, 1, 'the later callers wait: no read of their own yet');
    m.finish(1);
    assert.equal(await first, 1);
    await tick();
    assert.equal(m.started, 2, 'one read for both later callers, begun after the first ended');
    m.finish(2);
    assert.equal(await a, 2);
    assert.equal(await b, 2);
  });

  test('a caller after everything settled starts a read of its own', async () => {
    const m = manualRead();
    const f = new FreshRead(m.read);
    const first = f.get();
    m.finish(1);
    await first;
    const again = f.get();
    assert.equal(m.started, 2);
    m.finish(7);
    assert.equal(await again, 7);
  });

  test('a failed read fails its callers only; the queued callers get the next read', async () => {
    const m = manualRead();
    const f = new FreshRead(m.read);
    const first = f.get();
    const queued = f.get();
    m.fail(new Error('store unavailable'));
    await assert.rejects(first, /store unavailable/);
    await tick();
    m.finish(3);
    assert.equal(await queued, 3);
  });
});
