import type { HeartbeatRequest, HeartbeatResponse } from '../node-api/heartbeat-protocol.ts';
import { HttpNodeClient } from '../node-api/http-node-client.ts';
import type { TlsBundle } from '../pki/index.ts';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';
import { discoveredAddresses, type Discovery } from './discovery.ts';

export interface DiscoveryPollerOptions {
  discovery: Discovery;
  tls: TlsBundle;
  /** What a heartbeat pushed by an agent gets (Manager.acceptHeartbeat): recorded, answered. */
  accept: (hb: HeartbeatRequest) => Promise<HeartbeatResponse>;
  log: Logger;
  /** Default 1 s, the agents' own heartbeat interval. */
  intervalMs?: number;
}

/**
 * Static discovery (Swarm's `nodes://` and `file://`): every interval this
 * manager pulls the heartbeat of each listed agent and answers it, exactly
 * as if the agent had pushed it. The answer is the agent's contact with the
 * cluster: an agent no manager polls fences itself after the failure
 * timeout, as one that cannot reach any manager does.
 */
export class DiscoveryPoller {
  private readonly clients = new Map<string, HttpNodeClient>();
  private readonly down = new Map<string, string>();
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private round: Promise<void> | undefined;

  constructor(private readonly o: DiscoveryPollerOptions) {}

  start(): void {
    this.o.log.info('static discovery: polling the listed agents', {
      discovery: this.o.discovery.kind === 'file' ? `file://${this.o.discovery.path}` : 'nodes://',
      intervalMs: this.interval,
    });
    const loop = (): void => {
      if (this.stopped) return;
      this.round = this.pollAll().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.interval);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round?.catch(() => undefined);
    for (const c of this.clients.values()) c.close();
  }

  private get interval(): number {
    return this.o.intervalMs ?? 1000;
  }

  /** One round: every listed agent at once; an unreachable one does not hold up the rest. */
  async pollAll(): Promise<void> {
    let addresses: string[];
    try {
      addresses = await discoveredAddresses(this.o.discovery);
    } catch (err) {
      this.noteDown('(discovery)', errorMessage(err));
      return;
    }
    this.noteUp('(discovery)');
    for (const [a, c] of this.clients)
      if (!addresses.includes(a)) {
        c.close();
        this.clients.delete(a);
        this.o.log.info('host no longer listed by discovery: not polled any more', { address: a });
      }
    await Promise.all(addresses.map((a) => this.poll(a)));
  }

  private async poll(address: string): Promise<void> {
    const url = `https://${address}`;
    const timeoutMs = Math.max(this.interval, 1000);
    let client = this.clients.get(address);
    try {
      if (!client) {
        // Learn the host's name from one heartbeat, then poll only through a client that
        // refuses any certificate but that host's: an agent speaks for its own host only.
        const probe = new HttpNodeClient({ name: address, url, tls: this.o.tls });
        const name = await probe.pullHeartbeat(timeoutMs).finally(() => probe.close());
        client = new HttpNodeClient({ name: name.report.name, url, tls: this.o.tls, pinName: true });
        this.clients.set(address, client);
      }
      const hb = await client.pullHeartbeat(timeoutMs);
      if (hb.report.name !== client.name)
        throw new Error(`the agent certified as ${client.name} reports itself as ${hb.report.name}`);
      // managers reach the agent where discovery says it is, whatever it advertises
      const answer = await this.o.accept({ ...hb, apiUrl: url });
      await client.answerHeartbeat(hb.sequence, answer, timeoutMs);
      this.noteUp(address, hb.report.name);
    } catch (err) {
      // the next round asks again who is there (a host replaced at this address is found)
      client?.close();
      this.clients.delete(address);
      this.noteDown(address, errorMessage(err));
    }
  }

  private noteDown(address: string, error: string): void {
    if (this.down.get(address) === error) return;
    this.down.set(address, error);
    this.o.log.warn('cannot poll a host listed by discovery', { address, error });
  }

  private noteUp(address: string, node?: string): void {
    const wasDown = this.down.delete(address);
    if (node === undefined || (!wasDown && this.seen.has(address))) return;
    this.seen.add(address);
    this.o.log.info(wasDown ? 'a listed host answers again' : 'polling a host listed by discovery', {
      address,
      node,
    });
  }
}
