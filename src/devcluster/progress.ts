/**
 * What `up` and `down` report while they work, so a CLI can print each step
 * with its duration (`[ 1.2s] host node1: podman answering (640 ms)`).
 */
export type ProgressPhase = 'start' | 'done' | 'failed' | 'info';

export interface ProgressDetail {
  phase: ProgressPhase;
  message: string;
  /** Duration of this step (done/failed). */
  ms?: number;
  /** Time since the operation (up/down) began. */
  elapsedMs: number;
}

export type ProgressFn = (step: string, detail: ProgressDetail) => void;

export class Progress {
  private readonly t0 = Date.now();
  private readonly fn: ProgressFn | undefined;

  constructor(fn?: ProgressFn) {
    this.fn = fn;
  }

  get elapsedMs(): number {
    return Date.now() - this.t0;
  }

  emit(step: string, phase: ProgressPhase, message: string, ms?: number): void {
    if (!this.fn) return;
    try {
      this.fn(step, { phase, message, elapsedMs: this.elapsedMs, ...(ms === undefined ? {} : { ms }) });
    } catch {
      // a failing printer must not break up/down
    }
  }

  info(step: string, message: string): void {
    this.emit(step, 'info', message);
  }

  /** Runs one step, reporting start, then done (with what `fn` says happened) or failed. */
  async step<T>(step: string, message: string, fn: () => Promise<T>, done?: (r: T) => string): Promise<T> {
    const t = Date.now();
    this.emit(step, 'start', message);
    try {
      const r = await fn();
      this.emit(step, 'done', done ? done(r) : message, Date.now() - t);
      return r;
    } catch (err) {
      this.emit(step, 'failed', err instanceof Error ? err.message : String(err), Date.now() - t);
      throw err;
    }
  }
}

/** One line per event, for a terminal: `[  3.4s] images: loaded on node2 (812 ms)`. */
export function formatProgress(step: string, d: ProgressDetail): string {
  const at = `[${(d.elapsedMs / 1000).toFixed(1).padStart(5)}s]`;
  const took = d.ms === undefined ? '' : ` (${d.ms < 1000 ? `${d.ms} ms` : `${(d.ms / 1000).toFixed(1)} s`})`;
  if (d.phase === 'start') return `${at} ${step}: ${d.message} ...`;
  return `${at} ${step}:${d.phase === 'failed' ? ' FAILED:' : ''} ${d.message}${took}`;
}
