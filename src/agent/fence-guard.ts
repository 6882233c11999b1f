import { performance } from 'node:perf_hooks';
import type { PodmanClient } from '../engine/podman-client.ts';
import { restorePolicyOf } from '../policy/labels.ts';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import type { Contact } from './contact-file.ts';

/**
 * Kills every running container with a restore policy: the managers have
 * lost this host and restore them elsewhere. Returns the names killed. The
 * agent's own fence and the fence guard both use it.
 */
export async function killRestorePolicyContainers(
  podman: Pick<PodmanClient, 'listContainers' | 'killContainer'>,
  log: Logger,
  reason: string,
): Promise<string[]> {
  const stopped: string[] = [];
  for (const c of await podman.listContainers({ all: false })) {
    let policy;
    try {
      policy = restorePolicyOf(c.Labels);
    } catch {
      policy = undefined;
    }
    if (!policy) continue;
    const name = (c.Names[0] ?? c.Id).replace(/^\//, '');
    log.warn('fencing: stopping container that will be restored elsewhere', {
      container: name,
      policy,
      reason,
    });
    await podman.killContainer(name).catch(() => undefined);
    stopped.push(name);
  }
  return stopped;
}

export interface FenceGuardOptions {
  /** The agent's contact file, read now (contact-file.ts). */
  readContact: () => Contact | undefined;
  /** Kills the host's restore-policy containers; returns their names. */
  fence: (reason: string) => Promise<string[]>;
  /**
   * Tells the agent what the guard stopped (contact-file.ts, recordFence):
   * when the guard fences first, the agent's own fence finds nothing to stop.
   */
  record: (stopped: string[]) => void;
  /** Used while the file names no deadline (an older agent). */
  defaultFenceAfterMs: number;
  /** A monotonic clock in ms. */
  now?: () => number;
  log: Logger;
}

/**
 * The fence guard: a small process beside the agent, started on its own by
 * the host's init system, that fences the host when the agent cannot. An
 * agent fences itself when cut off from every manager, but a dead agent
 * fences nothing: its containers keep running while the managers, a failure
 * timeout later, restore them elsewhere, and the container runs twice.
 *
 * The guard watches the agent's contact file, which the agent rewrites on
 * every accepted heartbeat. When the file has not changed for the fence
 * deadline the agent wrote into it (by the guard's own monotonic clock, so
 * no wall-clock jump fences early or late), the guard kills the host's
 * restore-policy containers, once per silence. A host whose agent never made
 * contact is left alone: no manager knows its containers.
 */
export class FenceGuard {
  private readonly now: () => number;
  private seen: string | undefined;
  private changedAt: number;
  private fenced = false;
  private busy: Promise<void> | undefined;

  constructor(private readonly o: FenceGuardOptions) {
    this.now = o.now ?? (() => performance.now());
    this.changedAt = this.now();
  }

  /** One look at the contact file; fences when it is due. Returns what it did. */
  async check(): Promise<'waiting' | 'watching' | 'fenced' | 'already-fenced'> {
    if (this.busy) await this.busy;
    const c = this.o.readContact();
    if (!c) return 'waiting';
    const key = `${c.at}/${c.fenceAfterMs ?? ''}`;
    const now = this.now();
    if (key !== this.seen) {
      if (this.seen !== undefined && this.fenced)
        this.o.log.info('the agent is in contact again: watching', { at: new Date(c.at).toISOString() });
      this.seen = key;
      this.changedAt = now;
      this.fenced = false;
      return 'watching';
    }
    if (this.fenced) return 'already-fenced';
    const deadline = c.fenceAfterMs ?? this.o.defaultFenceAfterMs;
    const silentMs = now - this.changedAt;
    if (silentMs < deadline) return 'watching';
    const reason = `the agent recorded no manager contact for ${Math.round(silentMs)} ms (fence deadline ${deadline} ms): it is dead, hung or cut off`;
    this.o.log.warn('fencing the host for the agent', { reason });
    let done!: () => void;
    this.busy = new Promise((r) => (done = r));
    try {
      const stopped = await this.o.fence(reason);
      this.fenced = true;
      this.o.log.warn('fenced', { stopped: stopped.join(',') || '(none)' });
      try {
        this.o.record(stopped);
      } catch (err) {
        // the agent's next fence, or its new boot id if it died, still tells the managers
        this.o.log.error('cannot record for the agent what the guard stopped', { error: errorMessage(err) });
      }
    } catch (err) {
      // tried again at the next check
      this.o.log.error('fencing failed; retrying', { error: errorMessage(err) });
    } finally {
      this.busy = undefined;
      done();
    }
    return this.fenced ? 'fenced' : 'watching';
  }
}
