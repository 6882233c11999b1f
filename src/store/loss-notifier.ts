import { createLogger } from '../util/log.ts';

const log = createLogger('store');

/**
 * A one-shot "this ended" signal with late subscribers: a callback added after
 * the loss still hears about it, so a caller cannot miss a lease or leadership
 * loss that raced with its subscription. Callbacks run asynchronously, outside
 * the code that detected the loss.
 */
export class LossNotifier {
  private readonly callbacks = new Set<(reason: Error) => void>();
  private lost: Error | undefined;

  get reason(): Error | undefined {
    return this.lost;
  }

  subscribe(cb: (reason: Error) => void): () => void {
    if (this.lost !== undefined) {
      const reason = this.lost;
      queueMicrotask(() => call(cb, reason));
      return () => undefined;
    }
    this.callbacks.add(cb);
    return () => this.callbacks.delete(cb);
  }

  /** First call wins; later calls are ignored. */
  fire(reason: Error): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    const cbs = [...this.callbacks];
    this.callbacks.clear();
    queueMicrotask(() => cbs.forEach((cb) => call(cb, reason)));
  }

  /** Forget subscribers without telling them (the holder ended it on purpose). */
  clear(): void {
    this.callbacks.clear();
  }
}

function call(cb: (reason: Error) => void, reason: Error): void {
  try {
    cb(reason);
  } catch (err) {
    log.error('loss callback threw', { error: err instanceof Error ? err.message : String(err) });
  }
}
