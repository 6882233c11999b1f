/**
 * Which hosts this manager has changed lately: every request to a host's
 * node API or Podman proxy that may change its containers (anything but GET
 * and HEAD) counts from its start until `settleMs` after it ended, by then
 * a heartbeat report built after the change has arrived (a report is built
 * at most one heartbeat interval before it is sent, and may be the previous
 * one when a build is slow). `docker ps` answers from the reports of hosts
 * that are not busy, and asks the others (cluster-docker-backend.ts).
 */
export class HostActivity {
  private readonly inFlight = new Map<string, number>();
  private readonly endedAt = new Map<string, number>();

  constructor(
    private readonly settleMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** A change to `host` starts; call the result when it is over. */
  begin(host: string): () => void {
    this.inFlight.set(host, (this.inFlight.get(host) ?? 0) + 1);
    let over = false;
    return () => {
      if (over) return;
      over = true;
      const left = (this.inFlight.get(host) ?? 1) - 1;
      if (left > 0) this.inFlight.set(host, left);
      else this.inFlight.delete(host);
      this.endedAt.set(host, this.now());
    };
  }

  /** Whether `host` may have changed since its last report: a change in flight, or one that ended within settleMs. */
  busy(host: string): boolean {
    if (this.inFlight.has(host)) return true;
    const at = this.endedAt.get(host);
    if (at === undefined) return false;
    if (this.now() - at < this.settleMs) return true;
    this.endedAt.delete(host);
    return false;
  }
}
