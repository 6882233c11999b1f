import { RedisClient } from './redis-client.ts';
import { withTimeout } from './with-timeout.ts';

/**
 * Client-visible downtime of a Redis that moves between hosts: one loop per
 * host it may be on sends PING every ~10 ms (keeping its connection,
 * reconnecting after no reply within `replyTimeoutMs`), and every successful reply lands on
 * one timeline. The downtime is the longest gap between successive replies.
 * A loop per host, rather than one client following the container, keeps
 * the resolution at the ping period instead of a connect timeout: the old
 * host's port hangs while CRIU holds the network lock, the new one refuses
 * at once until the restore.
 */
export class DowntimeProbe {
  private readonly replies: number[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  private constructor(
    hosts: string[],
    private readonly port: number,
    private readonly periodMs: number,
    private readonly replyTimeoutMs: number,
  ) {
    this.loops = hosts.map((h) => this.loop(h));
  }

  /** Starts probing; resolves once one host answered (the baseline for the gap). */
  static async start(
    hosts: string[],
    port: number,
    opts: { periodMs?: number; replyTimeoutMs?: number } = {},
  ): Promise<DowntimeProbe> {
    const p = new DowntimeProbe(hosts, port, opts.periodMs ?? 10, opts.replyTimeoutMs ?? 100);
    await p.waitReply(0, 20_000);
    return p;
  }

  /** Waits for a reply after time `after` (epoch ms); false on timeout. */
  async waitReply(after: number, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.replies.some((t) => t > after)) return true;
      await sleep(this.periodMs);
    }
    return false;
  }

  /** Stops the loops; returns the longest gap between replies (ms) and how many replies came. */
  async stop(): Promise<{ downtimeMs: number; replies: number }> {
    this.stopped = true;
    await Promise.all(this.loops);
    const r = [...this.replies].sort((a, b) => a - b);
    let gap = 0;
    for (let i = 1; i < r.length; i++) gap = Math.max(gap, r[i]! - r[i - 1]!);
    return { downtimeMs: gap, replies: r.length };
  }

  private async loop(host: string): Promise<void> {
    let c: RedisClient | undefined;
    while (!this.stopped) {
      try {
        c ??= await RedisClient.connect(host, this.port, this.replyTimeoutMs);
        const reply = await withTimeout(c.command(['PING']), this.replyTimeoutMs);
        if (reply === 'PONG') this.replies.push(Date.now());
      } catch {
        // not there (yet), frozen, or gone: the gap grows
        c?.close();
        c = undefined;
      }
      await sleep(this.periodMs);
    }
    c?.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
