import net from 'node:net';
import { errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

/** A published TCP port of a running container, and the host it is published on now. */
export interface PublishedPort {
  port: number;
  /** The address of the host the container runs on. */
  address: string;
  container: string;
}

export interface ForwardedPort extends PublishedPort {
  /** Why the port is not forwarded (another process has it, another container published it first). */
  error?: string;
}

export interface PortForwarderOptions {
  /** Where the forwarded ports listen: the manager's Docker endpoint host (127.0.0.1 on a local cluster). */
  listenHost: string;
  /** The published ports of the cluster's running containers, read at every reconcile. */
  published: () => Promise<PublishedPort[]>;
  log: Logger;
  intervalMs?: number;
}

interface Listener {
  server: net.Server;
  target: PublishedPort;
  open: Set<net.Socket>;
}

/**
 * Makes each published port of the cluster reachable where its Docker
 * clients are, as Docker Desktop does for its VM: `127.0.0.1:6379` reaches
 * the redis published on 6379 on whichever host runs it now. Clients such
 * as testcontainers connect to the Docker endpoint's host and the port
 * `inspect` gives; with this they reach the container there.
 *
 * A new connection goes to the container's current host; one open across a
 * migration ends with the old host's side (as it would connecting to the
 * host directly). A port another process holds, or that two containers
 * publish, is logged once and reported, never fought over.
 */
export class PublishedPortForwarder {
  private readonly listeners = new Map<number, Listener>();
  private readonly refused = new Map<number, ForwardedPort>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly o: PortForwarderOptions) {}

  start(): void {
    this.kick();
    this.timer = setInterval(() => this.kick(), this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Reconciles now (a container moved): the ports follow it before the next interval. */
  kick(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.reconcile()
      .catch((err: unknown) =>
        this.o.log.warn('port forwarding: reconcile failed', { error: errorMessage(err) }),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** What is forwarded now, and what could not be. */
  status(): ForwardedPort[] {
    return [...[...this.listeners.values()].map((l) => l.target), ...this.refused.values()].sort(
      (a, b) => a.port - b.port,
    );
  }

  async reconcile(): Promise<void> {
    const wanted = new Map<number, PublishedPort>();
    const duplicates = new Map<number, ForwardedPort>();
    for (const p of await this.o.published()) {
      const first = wanted.get(p.port);
      if (!first) wanted.set(p.port, p);
      else if (first.container !== p.container)
        duplicates.set(p.port, {
          ...p,
          error: `port ${p.port} is published by ${first.container} too (on ${first.address}); only one can be forwarded`,
        });
    }
    for (const [port, l] of this.listeners) {
      const w = wanted.get(port);
      if (!w) {
        this.listeners.delete(port);
        l.server.close();
        this.o.log.info('port forwarding: stopped', { port, container: l.target.container });
      } else if (w.address !== l.target.address || w.container !== l.target.container) {
        this.o.log.info('port forwarding: follows the container', {
          port,
          container: w.container,
          from: l.target.address,
          to: w.address,
        });
        l.target = w;
      }
    }
    for (const [port, d] of duplicates) if (!this.refused.has(port)) this.refuse(d);
    for (const port of this.refused.keys()) if (!wanted.has(port)) this.refused.delete(port);
    for (const [port, w] of wanted) {
      if (this.listeners.has(port) || this.refused.get(port)?.container === w.container) continue;
      await this.listen(w);
    }
  }

  private refuse(p: ForwardedPort): void {
    this.refused.set(p.port, p);
    this.o.log.warn('port forwarding: not forwarded', {
      port: p.port,
      container: p.container,
      reason: p.error,
    });
  }

  private async listen(target: PublishedPort): Promise<void> {
    const listener: Listener = { server: net.createServer(), target, open: new Set() };
    listener.server.on('connection', (client) => {
      listener.open.add(client);
      client.on('close', () => listener.open.delete(client));
      this.relay(client, listener.target);
    });
    try {
      await new Promise<void>((resolve, reject) => {
        listener.server.once('error', reject);
        listener.server.listen({ host: this.o.listenHost, port: target.port }, () => {
          listener.server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      this.refuse({ ...target, error: `${this.o.listenHost}:${target.port} is taken: ${errorMessage(err)}` });
      return;
    }
    listener.server.on('error', (err) =>
      this.o.log.warn('port forwarding: listener error', { error: err.message }),
    );
    this.refused.delete(target.port);
    this.listeners.set(target.port, listener);
    this.o.log.info('port forwarding: started', {
      listen: `${this.o.listenHost}:${target.port}`,
      to: `${target.address}:${target.port}`,
      container: target.container,
    });
  }

  private relay(client: net.Socket, target: PublishedPort): void {
    const upstream = net.connect({ host: target.address, port: target.port });
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', () => upstream.end());
    upstream.on('close', () => client.end());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
    await Promise.all(
      [...this.listeners.values()].map((l) => {
        const closed = new Promise<void>((resolve) => l.server.close(() => resolve()));
        for (const s of l.open) s.destroy();
        return closed;
      }),
    );
    this.listeners.clear();
  }
}
