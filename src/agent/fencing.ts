/**
 * Self-fencing of an agent cut off from every manager. After `timeoutMs`
 * without a successful heartbeat the manager declares this host failed and
 * restores its restore-policy containers elsewhere, so the agent must have
 * stopped them by then: a container never runs twice. Fencing starts a
 * margin before the manager's deadline.
 *
 * States: connected -> (no contact for timeout - margin) -> fenced
 *         fenced -> (contact again) -> reconciling -> (reconciled) -> connected
 */
export type FenceState = 'connected' | 'fenced' | 'reconciling';

export interface FenceDecision {
  state: FenceState;
  /** true exactly once, on the transition into `fenced`. */
  fenceNow: boolean;
  /** true exactly once, when contact returns after a fence. */
  reconcileNow: boolean;
}

export class FenceMonitor {
  private state: FenceState = 'connected';
  private lastContact: number;

  constructor(
    private timeoutMs: number,
    private marginMs: number,
    now: number,
  ) {
    this.lastContact = now;
  }

  /** The managers' failure timeout may change (each heartbeat answer carries it). */
  setTimeouts(timeoutMs: number, marginMs: number): void {
    this.timeoutMs = timeoutMs;
    this.marginMs = marginMs;
  }

  /** When contact was last made (a heartbeat accepted). */
  get lastContactAt(): number {
    return this.lastContact;
  }

  get current(): FenceState {
    return this.state;
  }

  /** Deadline after which the agent fences (before the manager's failure timeout). */
  get fenceAfterMs(): number {
    return Math.max(0, this.timeoutMs - this.marginMs);
  }

  contact(now: number): FenceDecision {
    this.lastContact = now;
    if (this.state === 'fenced') {
      this.state = 'reconciling';
      return { state: this.state, fenceNow: false, reconcileNow: true };
    }
    return { state: this.state, fenceNow: false, reconcileNow: false };
  }

  tick(now: number): FenceDecision {
    if (this.state === 'connected' && now - this.lastContact >= this.fenceAfterMs) {
      this.state = 'fenced';
      return { state: this.state, fenceNow: true, reconcileNow: false };
    }
    return { state: this.state, fenceNow: false, reconcileNow: false };
  }

  reconciled(): void {
    if (this.state === 'reconciling') this.state = 'connected';
  }
}
