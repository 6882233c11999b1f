import { errorMessage } from '../util/errors.ts';
import {
  requiredWrites,
  type AckedWrite,
  type CheckpointRecord,
  type WriteCheck,
} from './chaos-invariants.ts';
import { sleep } from './chaos-recorder.ts';
import { RedisClient } from './redis-client.ts';
import { KeyWriter } from './redis-fill.ts';

/**
 * Continuous acknowledged writes into one checkpointed Redis, wherever it
 * runs. A KeyWriter writes until the connection fails (the host died, was
 * cut off, or the container was frozen too long); the writer then waits
 * until the container answers again (restored elsewhere or not), checks
 * which acknowledged keys survived, and starts the next KeyWriter with a
 * new key prefix. The check is invariant (c): every write acknowledged
 * before the newest checkpoint stored by the time of the break must be there.
 */
const WRITE_PERIOD_MS = 40;
const REPLY_TIMEOUT_MS = 3_000;

export class ChaosWriter {
  readonly checks: WriteCheck[] = [];
  /** Acked writes still expected in the container (those lost by design are dropped after each check). */
  private durable: AckedWrite[] = [];
  private acked = 0;
  private stopped = false;
  private current: KeyWriter | undefined;
  private readonly loop: Promise<void>;
  private epoch = 0;

  constructor(
    readonly container: string,
    private readonly port: number,
    /** Address of the host the container runs on now (by the host polls); undefined while it runs nowhere. */
    private readonly where: () => string | undefined,
    private readonly checkpoints: () => Promise<CheckpointRecord[]>,
    private readonly log: (line: string) => void,
  ) {
    this.loop = this.run();
  }

  get ackedTotal(): number {
    return this.acked;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.stop();
    await this.loop;
  }

  private async connect(): Promise<{ writer: KeyWriter; address: string } | undefined> {
    const address = this.where();
    if (!address) return undefined;
    try {
      const writer = await KeyWriter.start(address, this.port, `${this.container}:e${++this.epoch}`, {
        periodMs: WRITE_PERIOD_MS,
        replyTimeoutMs: REPLY_TIMEOUT_MS,
        connectTimeoutMs: 3_000,
      });
      return { writer, address };
    } catch {
      return undefined;
    }
  }

  private async run(): Promise<void> {
    let refAt: number | undefined;
    while (!this.stopped) {
      const c = await this.connect();
      if (!c) {
        await sleep(250);
        continue;
      }
      if (refAt !== undefined) {
        await this.check(c.address, refAt).catch((err: unknown) =>
          this.log(`  writer ${this.container}: check after the break failed: ${errorMessage(err)}`),
        );
        refAt = undefined;
      }
      this.current = c.writer;
      await c.writer.ended;
      const keys = c.writer.acked();
      const times = c.writer.ackTimes();
      for (let i = 0; i < keys.length; i++) this.durable.push({ key: keys[i]!, at: times[i]! });
      this.acked += keys.length;
      if (this.stopped) return;
      refAt = c.writer.failedAt ?? Date.now();
    }
  }

  /** Invariant (c) at the first answer after a break at `refAt`. */
  private async check(address: string, refAt: number): Promise<void> {
    const cps = await this.checkpoints();
    const { checkpoint, required } = requiredWrites(this.durable, cps, refAt);
    const r = await RedisClient.connect(address, this.port, 3_000);
    try {
      const exists = await existing(
        r,
        this.durable.map((w) => w.key),
      );
      const requiredKeys = new Set(required.map((w) => w.key));
      const missing = this.durable.filter((w) => !exists.has(w.key) && requiredKeys.has(w.key));
      const lostByDesign = this.durable.filter((w) => !exists.has(w.key) && !requiredKeys.has(w.key)).length;
      this.checks.push({
        container: this.container,
        refAt,
        checkedAt: Date.now(),
        ...(checkpoint ? { checkpointVersion: checkpoint.version } : {}),
        required: required.length,
        missing: missing.length,
        lostByDesign,
        missingSample: missing.slice(0, 3).map((w) => w.key),
      });
      if (missing.length > 0)
        this.log(
          `  VIOLATION (acked writes) ${this.container}: ${missing.length} of ${required.length} writes acknowledged before checkpoint v${checkpoint?.version} are missing`,
        );
      else if (lostByDesign > 0)
        this.log(
          `  ${this.container}: ${lostByDesign} writes after checkpoint v${checkpoint?.version ?? '-'} lost (by design), ${required.length} before it kept`,
        );
      // what is gone now is not expected later either
      this.durable = this.durable.filter((w) => exists.has(w.key));
    } finally {
      r.close();
    }
  }
}

/** Which of `keys` exist (EXISTS one key at a time, pipelined in batches). */
async function existing(c: RedisClient, keys: readonly string[], batch = 500): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < keys.length; i += batch) {
    const part = keys.slice(i, i + batch);
    const replies = await Promise.all(part.map((k) => c.command(['EXISTS', k])));
    replies.forEach((r, j) => {
      if (r === 1) out.add(part[j]!);
    });
  }
  return out;
}
