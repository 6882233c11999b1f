import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { DockerEvent } from './events.ts';
import { Boundary, podmanEvents } from './podman-events.ts';

function ev(action: string, id: string, seconds: number, nano = 0): DockerEvent {
  return {
    Type: 'container',
    Action: action,
    Actor: { ID: id, Attributes: {} },
    scope: 'local',
    time: seconds,
    timeNano: seconds * 1e9 + nano,
  };
}

/** A Podman whose every events call is recorded and answered by `answer`. */
function fakePodman(answer: (q: Record<string, unknown>, out: PassThrough) => void): {
  calls: Record<string, unknown>[];
  events: (q: Record<string, unknown>) => Promise<IncomingMessage>;
} {
  const calls: Record<string, unknown>[] = [];
  return {
    calls,
    events: async (q) => {
      const { signal: _signal, ...rest } = q;
      calls.push(rest);
      const out = new PassThrough();
      answer(rest, out);
      return out as unknown as IncomingMessage;
    },
  };
}

const line = (e: DockerEvent): string => JSON.stringify(e) + '\n';

async function collect(it: AsyncIterable<DockerEvent>): Promise<string[]> {
  const got: string[] = [];
  for await (const e of it) got.push(`${e.Action} ${e.Actor.ID}`);
  return got;
}

describe('podmanEvents: dockerd until semantics over Podman', () => {
  test('a window in the past is read to the end of the log, never cut by a timer', async () => {
    const now = Math.floor(Date.now() / 1000);
    const p = fakePodman((q, out) => {
      assert.equal(q['stream'], false);
      // Podman answers slowly: its log is long, or the host busy
      setTimeout(() => {
        out.write(line(ev('start', 'a', now - 5)));
        out.write(line(ev('remove', 'a', now - 2)));
        out.end(line(ev('create', 'b', now - 1)));
      }, 50);
    });
    const got = await collect(
      await podmanEvents(p, { since: now - 10, until: now - 2 }, new AbortController().signal),
    );
    assert.deepEqual(got, ['start a', 'remove a']);
    assert.deepEqual(p.calls, [{ since: now - 10, stream: false }]);
  });

  test('a window reaching into the future: the log, then the live stream from its last event, duplicates skipped', async () => {
    // `until` well ahead: the live stream is opened however slow this machine is (it ends by itself here)
    const now = Date.now() / 1000;
    const base = Math.floor(now) - 3;
    const p = fakePodman((q, out) => {
      if (q['stream'] === false) {
        out.write(line(ev('start', 'a', base, 5)));
        out.end(line(ev('pause', 'a', base + 1, 7)));
        return;
      }
      // resumed from the newest event's second: Podman repeats what it had
      out.write(line(ev('pause', 'a', base + 1, 7)));
      out.write(line(ev('unpause', 'a', base + 1, 9)));
      out.end(line(ev('remove', 'a', base + 2)));
    });
    const got = await collect(
      await podmanEvents(p, { since: base - 1, until: now + 5 }, new AbortController().signal),
    );
    assert.deepEqual(got, ['start a', 'pause a', 'unpause a', 'remove a']);
    assert.deepEqual(p.calls, [{ since: base - 1, stream: false }, { since: base + 1 }]);
  });

  test('without since, Podman keeps until', async () => {
    const p = fakePodman((_q, out) => out.end());
    await collect(await podmanEvents(p, { until: 1000.2 }, new AbortController().signal));
    assert.deepEqual(p.calls, [{ until: 1001 }]);
  });
});

describe('Boundary', () => {
  test('skips what came before or at the newest event delivered, keeps the rest', () => {
    const b = new Boundary();
    assert.equal(b.since(42), 42);
    b.saw(ev('start', 'a', 100, 5));
    b.saw(ev('die', 'a', 101, 1));
    assert.equal(b.since(42), 101);
    assert.equal(b.isNew(ev('start', 'a', 100, 5)), false);
    assert.equal(b.isNew(ev('die', 'a', 101, 1)), false);
    assert.equal(b.isNew(ev('die', 'b', 101, 1)), true, 'another container at the same instant');
    assert.equal(b.isNew(ev('remove', 'a', 101, 2)), true);
    assert.equal(b.isNew(ev('remove', 'a', 101, 2)), false);
  });
});
