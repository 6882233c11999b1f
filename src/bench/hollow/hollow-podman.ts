import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readBody } from '../../engine/unix-http.ts';
import type { ContainerInspect, ContainerListEntry } from '../../engine/types.ts';

/** The image every simulated container runs; reported in the host's images so placement finds it. */
export const HOLLOW_IMAGE = { id: 'a'.repeat(64), name: 'docker.io/library/redis:7-alpine' };

const LIBPOD = /^\/v[\d.]+\/libpod(\/.*)$/;

/** A simulated container: what a Podman list entry and inspect say about it. */
export interface HollowContainer {
  id: string;
  name: string;
  state: 'created' | 'running' | 'exited';
  labels: Record<string, string>;
  created: number;
  startedAt: number;
}

export function hollowContainer(name: string, labels: Record<string, string> = {}): HollowContainer {
  const now = Math.floor(Date.now() / 1000);
  return {
    id: randomBytes(32).toString('hex'),
    name,
    state: 'running',
    labels,
    created: now,
    startedAt: now,
  };
}

/** As Podman's `GET /containers/json` lists it (the fields a real host sends, so reports weigh what real ones do). */
export function listEntry(c: HollowContainer): ContainerListEntry {
  return {
    Id: c.id,
    Names: [c.name],
    Image: HOLLOW_IMAGE.name,
    ImageID: HOLLOW_IMAGE.id,
    State: c.state,
    Status: c.state === 'running' ? 'Up' : c.state,
    Created: c.created,
    Labels: c.labels,
    Ports: null,
    Command: ['redis-server'],
    Pid: c.state === 'running' ? 1000 + (c.created % 30000) : 0,
    ExitCode: 0,
    Exited: c.state === 'exited',
    StartedAt: c.startedAt,
  };
}

function inspectOf(c: HollowContainer, address: string): ContainerInspect {
  return {
    Id: c.id,
    Name: c.name,
    Created: new Date(c.created * 1000).toISOString(),
    Image: HOLLOW_IMAGE.id,
    ImageName: HOLLOW_IMAGE.name,
    State: {
      Status: c.state,
      Running: c.state === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: 0,
      ExitCode: 0,
      Error: '',
      StartedAt: new Date(c.startedAt * 1000).toISOString(),
      FinishedAt: '0001-01-01T00:00:00Z',
    } as unknown as ContainerInspect['State'],
    Config: {
      Env: [],
      Cmd: ['redis-server'],
      Entrypoint: null,
      Labels: c.labels,
      Tty: false,
      WorkingDir: '/data',
      Image: HOLLOW_IMAGE.name,
    },
    HostConfig: { CgroupParent: 'lifeboat-hollow', PortBindings: null },
    NetworkSettings: { IPAddress: address, Ports: null },
  };
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function podmanError(res: ServerResponse, status: number, message: string): void {
  send(res, status, { cause: message, message, response: status });
}

/**
 * The few libpod endpoints a manager calls on a host (list, inspect, create,
 * start, stop, remove, image exists, network inspect and create), answered from memory. Anything else
 * is a 501 naming the path, so a manager path the simulator lacks shows up
 * in the bench's errors instead of passing unnoticed.
 */
export class HollowPodman {
  readonly containers = new Map<string, HollowContainer>();
  readonly networks = new Map<string, Record<string, unknown>>();
  /** Simulated work per create/start (Podman's own cost on a real host). */
  constructor(
    private readonly address: string,
    private readonly opDelayMs = 0,
  ) {}

  private find(ref: string): HollowContainer | undefined {
    return this.containers.get(ref) ?? [...this.containers.values()].find((c) => c.id === ref);
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string, search: string): Promise<void> {
    const m = LIBPOD.exec(path);
    const p = m?.[1] ?? path;
    const method = req.method ?? 'GET';
    const delay = (): Promise<void> =>
      this.opDelayMs > 0 ? new Promise((r) => setTimeout(r, this.opDelayMs)) : Promise.resolve();
    if (p === '/_ping') return void res.writeHead(200).end('OK');
    if (method === 'GET' && p === '/containers/json') {
      const all = new URLSearchParams(search).get('all') === 'true';
      const list = [...this.containers.values()].filter((c) => all || c.state === 'running').map(listEntry);
      return send(res, 200, list);
    }
    if (method === 'GET' && p === '/images/json')
      return send(res, 200, [
        { Id: HOLLOW_IMAGE.id, RepoTags: [HOLLOW_IMAGE.name], Size: 30_000_000, Created: 0 },
      ]);
    const image = /^\/images\/([^/]+)\/exists$/.exec(p);
    if (image) {
      const ref = decodeURIComponent(image[1]!);
      return send(
        res,
        ref === HOLLOW_IMAGE.name || HOLLOW_IMAGE.id.startsWith(ref.replace(/^sha256:/, '')) ? 204 : 404,
      );
    }
    if (method === 'POST' && p === '/containers/create') {
      const spec = JSON.parse((await readBody(req)).toString('utf8') || '{}') as {
        name?: string;
        labels?: Record<string, string>;
      };
      const name = spec.name || `hollow_${randomBytes(4).toString('hex')}`;
      if (this.containers.has(name)) return podmanError(res, 409, `container name ${name} is already in use`);
      await delay();
      const c = { ...hollowContainer(name, spec.labels ?? {}), state: 'created' as const };
      this.containers.set(name, c);
      return send(res, 201, { Id: c.id, Warnings: [] });
    }
    // networks: kept by name, as a manager creates the cluster network on a host before its first user
    const net = /^\/networks\/([^/]+)\/json$/.exec(p);
    if (method === 'GET' && net) {
      const n = this.networks.get(decodeURIComponent(net[1]!));
      return n ? send(res, 200, n) : podmanError(res, 404, 'unable to find network: network not found');
    }
    if (method === 'POST' && p === '/networks/create') {
      const spec = JSON.parse((await readBody(req)).toString('utf8') || '{}') as { name?: string };
      const n = {
        ...spec,
        id: randomBytes(32).toString('hex'),
        driver: 'bridge',
        created: new Date().toISOString(),
      };
      if (spec.name) this.networks.set(spec.name, n);
      return send(res, 200, n);
    }
    const one = /^\/containers\/([^/]+)(\/[a-z]+)?$/.exec(p);
    if (one) {
      await readBody(req).catch(() => undefined);
      const ref = decodeURIComponent(one[1]!);
      const c = this.find(ref);
      const action = one[2] ?? '';
      if (!c) return podmanError(res, 404, `no container with name or ID "${ref}" found: no such container`);
      if (method === 'GET' && action === '/json') return send(res, 200, inspectOf(c, this.address));
      if (method === 'GET' && action === '/exists') return send(res, 204);
      if (method === 'POST' && action === '/start') {
        if (c.state === 'running') return send(res, 304);
        await delay();
        c.state = 'running';
        c.startedAt = Math.floor(Date.now() / 1000);
        return send(res, 204);
      }
      if (method === 'POST' && (action === '/stop' || action === '/kill')) {
        c.state = 'exited';
        return send(res, 204);
      }
      if (method === 'DELETE' && action === '') {
        this.containers.delete(c.name);
        return send(res, 200, [{ Id: c.id }]);
      }
    }
    return podmanError(res, 501, `the hollow host (a simulator) does not implement ${method} ${p}`);
  }
}
