import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../util/errors.ts';
import { StoreUnavailableError } from './errors.ts';

export interface RetryOptions {
  /** What is being tried, for the final error message. */
  what: string;
  /** Give up once this much time has passed since the first attempt. */
  budgetMs: number;
  isTransient(err: unknown): boolean;
  /** Checked before every attempt; throw to stop (e.g. the store was closed). */
  check?: () => void;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `fn` until it succeeds, retrying transient failures with exponential
 * backoff (with jitter, so that several managers do not retry in lockstep)
 * until the time budget is used up.
 */
export async function withRetry<T>(fn: () => Promise<T>, opts: RetryOptions): Promise<T> {
  const start = Date.now();
  let delay = opts.initialDelayMs ?? 50;
  const maxDelay = opts.maxDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    opts.check?.();
    try {
      return await fn();
    } catch (err) {
      if (!opts.isTransient(err)) throw err;
      const wait = Math.round(delay * (0.5 + Math.random() / 2));
      if (Date.now() - start + wait > opts.budgetMs) {
        throw new StoreUnavailableError(
          `${opts.what} failed after ${attempt} attempts in ${Date.now() - start} ms: ${errorMessage(err)}`,
          { cause: err },
        );
      }
      opts.onRetry?.(err, attempt, wait);
      await sleep(wait);
      delay = Math.min(delay * 2, maxDelay);
    }
  }
}
