import type { HealthConfig } from '../engine/types.ts';
import type { Logger } from '../util/log.ts';
import { errorMessage } from '../util/errors.ts';

/** What the driver needs of the host's Podman. */
export type { HealthConfig };

export interface HealthPodman {
  /** Running containers: ID and start time (seconds since the epoch, as Podman lists them). */
  running(): Promise<{ id: string; name: string; startedAt: number }[]>;
  /** The container's health check, or undefined when it has none. */
  healthConfig(id: string): Promise<HealthConfig | undefined>;
  /** Runs the check once (Podman records the result, the failing streak and the status). */
  runHealthcheck(id: string): Promise<string>;
}

/** Docker's default interval between checks. */
export const DEFAULT_HEALTH_INTERVAL_MS = 30_000;

/** What Docker runs for a check: a Test of NONE (or none at all) means no check. */
export function activeCheck(c: HealthConfig | undefined): c is HealthConfig {
  const test = c?.Test ?? [];
  return test.length > 0 && test[0] !== 'NONE' && !(test[0] === 'CMD-SHELL' && test.length < 2);
}

interface Scheduled {
  name: string;
  intervalMs: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Runs containers' health checks on their intervals. Podman 4 schedules them
 * with systemd timers; lifeboat's hosts may have no systemd (the local
 * cluster never does), where Podman runs a check only when asked. So the
 * agent asks: every running container whose config has a check gets one per
 * interval, the first an interval after it started, as dockerd does. Podman
 * itself keeps the state (starting, healthy, unhealthy), the failing streak,
 * the start period and the log, so `docker inspect` and `docker ps` show
 * Podman's verdict unchanged. The host's containers are listed once a second
 * to learn new ones and forget stopped ones; each check has its own timer.
 */
export class HealthDriver {
  private readonly scheduled = new Map<string, Scheduled>();
  /** Containers known to have no check (inspected once per ID). */
  private readonly without = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly podman: HealthPodman,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(everyMs = 1000): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.ticking ??= this.tick()
        .catch((err: unknown) =>
          this.log.debug('health checks: cannot list the containers', { error: errorMessage(err) }),
        )
        .finally(() => (this.ticking = undefined));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    for (const s of this.scheduled.values()) clearTimeout(s.timer);
    this.scheduled.clear();
  }

  /** Containers with a check. */
  get watched(): string[] {
    return [...this.scheduled.values()].map((s) => s.name);
  }

  /** One pass: learns new containers (their first check an interval after their start), forgets gone ones. */
  async tick(): Promise<void> {
    const running = await this.podman.running();
    const ids = new Set(running.map((c) => c.id));
    for (const [id, s] of this.scheduled)
      if (!ids.has(id)) {
        clearTimeout(s.timer);
        this.scheduled.delete(id);
      }
    for (const id of this.without) if (!ids.has(id)) this.without.delete(id);
    for (const c of running) {
      if (this.stopped || this.without.has(c.id) || this.scheduled.has(c.id)) continue;
      let cfg: HealthConfig | undefined;
      try {
        cfg = await this.podman.healthConfig(c.id);
      } catch {
        continue; // gone meanwhile, or Podman busy: the next pass looks again
      }
      if (!activeCheck(cfg)) {
        this.without.add(c.id);
        continue;
      }
      const intervalMs = cfg.Interval ? Math.round(cfg.Interval / 1e6) : DEFAULT_HEALTH_INTERVAL_MS;
      const s: Scheduled = { name: c.name, intervalMs, timer: undefined };
      this.scheduled.set(c.id, s);
      // the first check an interval after the start (a container restored or moved here keeps its start time)
      const first = c.startedAt > 0 ? c.startedAt * 1000 + intervalMs - this.now() : intervalMs;
      this.arm(c.id, s, Math.max(0, first));
      this.log.debug('health checks: watching', { container: c.name, intervalMs });
    }
  }

  private arm(id: string, s: Scheduled, inMs: number): void {
    s.timer = setTimeout(() => {
      if (this.scheduled.get(id) !== s) return;
      const started = this.now();
      void this.podman
        .runHealthcheck(id)
        .then(
          (status) => this.log.debug('health check ran', { container: s.name, status }),
          (err: unknown) =>
            this.log.debug('health check could not run', { container: s.name, error: errorMessage(err) }),
        )
        .finally(() => {
          // the next one an interval after this one started, never two at once
          if (this.scheduled.get(id) === s) this.arm(id, s, Math.max(0, started + s.intervalMs - this.now()));
        });
    }, inMs);
    s.timer.unref();
  }
}
