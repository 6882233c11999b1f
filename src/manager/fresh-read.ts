/**
 * One store read shared by every caller that asked while it was pending,
 * yet never older than the call: a caller arriving while a read is in
 * flight waits for the next one, which starts when that one ends. So each
 * answer is what a read of its own would have given (no cache, nothing
 * stale), while N callers at once cost at most two reads instead of N.
 * Heartbeats from hundreds of hosts each wanted every container record;
 * the scale bench (issue 22) measured that as the manager's largest store
 * load.
 */
export class FreshRead<T> {
  private running: Promise<T> | undefined;
  private queued: Promise<T> | undefined;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.running) return this.start();
    // the read in flight began before this call: it may miss a write the caller already saw
    this.queued ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        return this.running ?? this.start();
      });
    return this.queued;
  }

  private start(): Promise<T> {
    const p = this.read();
    this.running = p;
    const done = (): void => {
      if (this.running === p) this.running = undefined;
    };
    p.then(done, done);
    return p;
  }
}
