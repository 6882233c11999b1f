import { errorMessage } from '../util/errors.ts';
import { RedisClient } from './redis-client.ts';

export interface ConnectedOutcome {
  /** The one connection carried every request to the end. */
  survived: boolean;
  /** Requests answered. */
  answered: number;
  /** Acknowledged writes the server no longer holds (read back over a new connection). */
  lost: number;
  /** Longest time between two answers, ms (to the end of the run when the connection died). */
  longestGapMs: number;
  error?: string;
}

/**
 * What issue 19 asks a move to keep: a client holding one TCP connection to
 * Redis, with no reconnect logic, sending `INCR` every 10 ms. Stopping it
 * reads the counter back over a fresh connection to count lost writes.
 */
export class ConnectedClient {
  private running = true;
  private answered = 0;
  private last = 0;
  private lastAt = performance.now();
  private longestGapMs = 0;
  private error: string | undefined;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly client: RedisClient,
    private readonly host: string,
    private readonly port: number,
    private readonly key: string,
  ) {
    this.loop = this.run();
  }

  static async start(host: string, port: number, key = 'connected'): Promise<ConnectedClient> {
    const c = await RedisClient.waitReady(host, port, 10_000);
    await c.command(['SET', key, 0]);
    return new ConnectedClient(c, host, port, key);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const n = Number(await this.client.command(['INCR', this.key]));
        const now = performance.now();
        this.longestGapMs = Math.max(this.longestGapMs, now - this.lastAt);
        this.lastAt = now;
        this.last = n;
        this.answered++;
      } catch (err) {
        this.error = errorMessage(err);
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async stop(): Promise<ConnectedOutcome> {
    this.running = false;
    await this.loop;
    if (this.error !== undefined)
      this.longestGapMs = Math.max(this.longestGapMs, performance.now() - this.lastAt);
    this.client.close();
    let lost = 0;
    try {
      const c = await RedisClient.waitReady(this.host, this.port, 10_000);
      const held = Number(await c.command(['GET', this.key]));
      c.close();
      lost = Math.max(0, this.last - held);
    } catch {
      lost = this.last;
    }
    return {
      survived: this.error === undefined,
      answered: this.answered,
      lost,
      longestGapMs: Math.round(this.longestGapMs),
      ...(this.error !== undefined ? { error: this.error } : {}),
    };
  }
}
