import { LifeboatError } from '../util/errors.ts';
import { RedisClient } from './redis-client.ts';
import { withTimeout } from './with-timeout.ts';

/**
 * Filling a bench Redis and writing to it: `populate` puts N MB in with
 * `DEBUG POPULATE` (keys `key:0`, `key:1`, ...), `KeyWriter` is a client that
 * writes keys one after another and remembers which ones Redis acknowledged,
 * so a bench can tell afterwards which acknowledged writes were lost.
 */
export const VALUE_BYTES = 1000;
// DEBUG POPULATE's per-key overhead beside a 1000-byte value, measured roughly: sizes are approximate.
export const KEY_BYTES = 1100;
export const POPULATE_PREFIX = 'key';

/** Keys for about `sizeMb` MB of 1000-byte values. */
export function keysForMb(sizeMb: number): number {
  return Math.max(1, Math.round((sizeMb * 1e6) / KEY_BYTES));
}

export async function usedMemory(c: RedisClient): Promise<number> {
  const info = String(await c.command(['INFO', 'memory']));
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

/** Fills the Redis at host:port with about `sizeMb` MB; returns the key count and `used_memory`. */
export async function populate(
  host: string,
  port: number,
  sizeMb: number,
): Promise<{ keys: number; usedBytes: number }> {
  const c = await RedisClient.waitReady(host, port);
  try {
    const keys = keysForMb(sizeMb);
    const ok = await c.command(['DEBUG', 'POPULATE', keys, POPULATE_PREFIX, VALUE_BYTES]);
    if (ok !== 'OK') throw new LifeboatError('bench_populate', `DEBUG POPULATE answered ${String(ok)}`);
    return { keys, usedBytes: await usedMemory(c) };
  } finally {
    c.close();
  }
}

/** How many of `keys` exist (EXISTS in batches). */
export async function countExisting(c: RedisClient, keys: readonly string[], batch = 500): Promise<number> {
  let n = 0;
  for (let i = 0; i < keys.length; i += batch) {
    const r = await c.command(['EXISTS', ...keys.slice(i, i + batch)]);
    if (typeof r !== 'number') throw new LifeboatError('bench_redis', `EXISTS answered ${String(r)}`);
    n += r;
  }
  return n;
}

/**
 * A client writing `<prefix>:1`, `<prefix>:2`, ... one at a time over one
 * connection, each after the previous one was acknowledged. `acked()` is
 * what Redis confirmed so far; a write in flight when the server dies is
 * not counted. Write errors end the loop (the caller decides what they mean).
 * Options: `periodMs` paces the writes (default: as fast as Redis answers),
 * `replyTimeoutMs` ends the loop when a reply takes longer (a host cut off
 * sends no reset, the write would hang), and every ack's arrival time is
 * kept (`ackTimes()`), so a caller can tell which writes a checkpoint that
 * started at a given instant must hold.
 */
export class KeyWriter {
  private ackedKeys: string[] = [];
  private ackedAt: number[] = [];
  private stopped = false;
  private lastError: unknown;
  private failedSentAt: number | undefined;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly c: RedisClient,
    private readonly prefix: string,
    private readonly opts: KeyWriterOptions,
  ) {
    this.loop = this.run();
  }

  static async start(
    host: string,
    port: number,
    prefix = 'w',
    opts: KeyWriterOptions = {},
  ): Promise<KeyWriter> {
    return new KeyWriter(await RedisClient.waitReady(host, port, opts.connectTimeoutMs), prefix, opts);
  }

  /** Keys acknowledged so far, in write order. */
  acked(): readonly string[] {
    return this.ackedKeys;
  }

  /** When each of `acked()` was acknowledged (epoch ms, same order). */
  ackTimes(): readonly number[] {
    return this.ackedAt;
  }

  get error(): unknown {
    return this.lastError;
  }

  /** When the write that failed was sent (epoch ms); undefined while writing goes on. */
  get failedAt(): number | undefined {
    return this.failedSentAt;
  }

  /** Settles when the loop ends (an error, or `stop()`). */
  get ended(): Promise<void> {
    return this.loop;
  }

  /**
   * Stops writing: freezes the acknowledged list at this instant (a reply
   * still on its way is not counted) and drops the connection without
   * waiting for the server (it may be dead).
   */
  stop(): readonly string[] {
    this.stopped = true;
    const acked = [...this.ackedKeys];
    this.ackedKeys = acked;
    this.ackedAt = this.ackedAt.slice(0, acked.length);
    this.c.close();
    void this.loop.catch(() => undefined);
    return acked;
  }

  private async run(): Promise<void> {
    for (let i = 1; !this.stopped; i++) {
      const key = `${this.prefix}:${i}`;
      const sentAt = Date.now();
      try {
        const set = this.c.command(['SET', key, String(i)]);
        const ms = this.opts.replyTimeoutMs;
        const r = await (ms === undefined ? set : withTimeout(set, ms, 'SET'));
        if (this.stopped) return;
        if (r !== 'OK') throw new Error(`SET answered ${String(r)}`);
        this.ackedKeys.push(key);
        this.ackedAt.push(Date.now());
      } catch (err) {
        if (!this.stopped) {
          this.lastError = err;
          this.failedSentAt = sentAt;
          this.c.close();
        }
        return;
      }
      if (this.opts.periodMs) await new Promise((r) => setTimeout(r, this.opts.periodMs));
    }
  }
}

export interface KeyWriterOptions {
  periodMs?: number;
  replyTimeoutMs?: number;
  /** How long `start` waits for Redis to answer PING (default 20 s). */
  connectTimeoutMs?: number;
}
