import type { IncomingMessage } from 'node:http';
import type { PodmanClient } from '../../engine/podman-client.ts';
import { ndjson } from '../../util/ndjson.ts';
import type { DockerEvent, EventsOptions } from './events.ts';

/**
 * How long after `until` a followed stream stays open: Podman delivers an
 * event from its log a moment after it happened, and one from before `until`
 * must not be cut off.
 */
const UNTIL_GRACE_MS = 500;

/**
 * One host's Podman events for `GET /events`, with dockerd's `until`.
 *
 * Podman ends a stream with `until` by a timer that starts with the request:
 * when `until` is near (`docker events --until` of the current second) and
 * the host is busy, the timer can fire before Podman has read its log up to
 * the events asked for, and the answer is empty. So `until` is kept here:
 * the past part of the window is read to the end of the log (Podman's
 * `stream=false`), and only the part still to come is followed, up to
 * `until` by this process's own clock.
 */
export async function podmanEvents(
  podman: Pick<PodmanClient, 'events'>,
  opts: Pick<EventsOptions, 'since' | 'until'>,
  signal: AbortSignal,
): Promise<AsyncIterable<DockerEvent>> {
  const since = opts.since === undefined ? undefined : Math.floor(opts.since);
  const until = opts.until;
  if (until === undefined || since === undefined) {
    // nothing from the past to read first: Podman's own timer ends it
    const res = await podman.events({
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until: Math.ceil(until) } : {}),
      signal,
    });
    return lines(res, signal);
  }
  const untilNano = BigInt(Math.round(until * 1000)) * 1_000_000n;
  const backlog = await podman.events({ since, stream: false, signal });
  return (async function* () {
    const boundary = new Boundary();
    for await (const e of lines(backlog, signal)) {
      if (nanos(e) > untilNano) return;
      boundary.saw(e);
      yield e;
    }
    if (Date.now() >= until * 1000 || signal.aborted) return;
    // what happens from now to `until`: followed from the last event read, its duplicates skipped
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    const timer = setTimeout(() => stop.abort(), until * 1000 - Date.now() + UNTIL_GRACE_MS);
    try {
      const live = await podman.events({ since: boundary.since(since), signal: both });
      for await (const e of lines(live, both)) {
        if (nanos(e) > untilNano) return;
        if (!boundary.isNew(e)) continue;
        yield e;
      }
    } catch (err) {
      if (!stop.signal.aborted || signal.aborted) throw err;
    } finally {
      clearTimeout(timer);
      stop.abort();
    }
  })();
}

/** The events already delivered at the newest time seen: a stream resumed from that time repeats them. */
export class Boundary {
  private last = -1n;
  private readonly atLast = new Set<string>();

  saw(e: DockerEvent): void {
    const t = nanos(e);
    if (t > this.last) {
      this.last = t;
      this.atLast.clear();
    }
    if (t === this.last) this.atLast.add(key(e));
  }

  /** Whole seconds to resume from (Podman's `since`): the newest event's second, or `fallback`. */
  since(fallback: number): number {
    return this.last < 0n ? fallback : Number(this.last / 1_000_000_000n);
  }

  /** False for an event at or before the newest one already delivered. */
  isNew(e: DockerEvent): boolean {
    const t = nanos(e);
    if (t < this.last || (t === this.last && this.atLast.has(key(e)))) return false;
    this.saw(e);
    return true;
  }
}

function nanos(e: DockerEvent): bigint {
  return e.timeNano ? BigInt(e.timeNano) : BigInt(e.time) * 1_000_000_000n;
}

function key(e: DockerEvent): string {
  return `${e.Type} ${e.Action} ${e.Actor.ID}`;
}

/** Podman's answer: one JSON event per line. */
async function* lines(res: IncomingMessage, signal: AbortSignal): AsyncGenerator<DockerEvent> {
  const destroy = (): void => void res.destroy();
  signal.addEventListener('abort', destroy, { once: true });
  try {
    for await (const e of ndjson(res)) yield e as DockerEvent;
  } finally {
    signal.removeEventListener('abort', destroy);
    res.destroy();
  }
}
