import type { Router } from '../http/router.ts';
import { ValidationError } from '../../util/errors.ts';
import type { DockerBackend, DockerNetwork, DockerVolume } from './backend.ts';
import { NoSuchNetworkError, NoSuchVolumeError, NotImplementedError } from './errors.ts';
import { parseNetworkConnect, parseNetworkCreate, parseVolumeCreate } from './network-body.ts';
import type { DockerFilters } from './types.ts';
import { parseFilters } from './validate.ts';

/**
 * docker network and docker volume: the cluster's user-defined networks and
 * named volumes, each local to one host as in classic Swarm (the container
 * that uses one is placed beside it), beside each host's default network.
 */
export function registerNetworkVolumeRoutes(router: Router, backend: DockerBackend): void {
  const need = <K extends keyof DockerBackend>(method: K, what: string): NonNullable<DockerBackend[K]> => {
    const fn = backend[method];
    if (!fn)
      throw new NotImplementedError(
        `${what} is not available on this endpoint`,
        "use the cluster's endpoint (lifeboat manage), which keeps networks and volumes",
      );
    return (fn as (...a: unknown[]) => unknown).bind(backend) as NonNullable<DockerBackend[K]>;
  };

  router.get('/networks', async (ctx) => {
    const filters = parseFilters(ctx.string('filters'), [
      'driver',
      'id',
      'label',
      'name',
      'scope',
      'type',
      'dangling',
    ]);
    ctx.send(200, filterNetworks(await backend.listNetworks(), filters));
  });
  router.post('/networks/create', async (ctx) => {
    const create = need('createNetwork', 'docker network create');
    ctx.send(201, await create(parseNetworkCreate(await ctx.json())));
  });
  router.post('/networks/prune', async (ctx) => {
    const filters = parseFilters(ctx.string('filters'), ['label', 'label!', 'until']);
    const remove = backend.removeNetwork?.bind(backend);
    const deleted: string[] = [];
    if (remove)
      for (const n of filterNetworks(await backend.listNetworks(), {
        ...filters,
        type: ['custom'],
        dangling: ['true'],
      })) {
        await remove(n.Name);
        deleted.push(n.Name);
      }
    ctx.send(200, { NetworksDeleted: deleted });
  });
  router.get('/networks/{id*}', async (ctx) => {
    const id = ctx.param('id');
    const nets = await backend.listNetworks();
    const prefixed = nets.filter((x) => x.Id.startsWith(id));
    const n =
      nets.find((x) => x.Name === id || x.Id === id) ?? (prefixed.length === 1 ? prefixed[0] : undefined);
    // scope: as dockerd, a network of another scope is not found; verbose adds only swarm services, of which there are none
    const scope = ctx.string('scope');
    if (!n || (scope && scope !== n.Scope)) throw new NoSuchNetworkError(id);
    ctx.send(200, n);
  });
  router.delete('/networks/{id}', async (ctx) => {
    await need('removeNetwork', 'docker network rm')(ctx.param('id'));
    ctx.send(204);
  });
  router.post('/networks/{id}/connect', async (ctx) => {
    const { container, endpoint } = parseNetworkConnect(await ctx.json());
    await need('connectNetwork', 'docker network connect')(ctx.param('id'), container, endpoint);
    ctx.send(200);
  });
  router.post('/networks/{id}/disconnect', async (ctx) => {
    const body = (await ctx.json()) as { Container?: unknown; Force?: unknown } | undefined;
    const container = typeof body?.Container === 'string' ? body.Container : '';
    if (!container) throw new ValidationError('Container is required');
    await need('disconnectNetwork', 'docker network disconnect')(
      ctx.param('id'),
      container,
      body?.Force === true,
    );
    ctx.send(200);
  });

  router.get('/volumes', async (ctx) => {
    const filters = parseFilters(ctx.string('filters'), ['dangling', 'driver', 'label', 'name']);
    const all = backend.listVolumes ? await backend.listVolumes() : [];
    ctx.send(200, { Volumes: filterVolumes(all, filters), Warnings: [] });
  });
  router.post('/volumes/create', async (ctx) => {
    ctx.send(201, await need('createVolume', 'docker volume create')(parseVolumeCreate(await ctx.json())));
  });
  router.post('/volumes/prune', async (ctx) => {
    const filters = parseFilters(ctx.string('filters'), ['label', 'label!', 'all']);
    const deleted: string[] = [];
    // Docker (API >= 1.42) prunes only anonymous volumes unless all=true; lifeboat has no anonymous ones
    if (filters['all']?.includes('true') || filters['all']?.includes('1')) {
      const remove = need('removeVolume', 'docker volume prune');
      const { all: _all, ...rest } = filters;
      for (const v of filterVolumes(backend.listVolumes ? await backend.listVolumes() : [], {
        ...rest,
        dangling: ['true'],
      })) {
        await remove(v.Name, false);
        deleted.push(v.Name);
      }
    }
    ctx.send(200, { VolumesDeleted: deleted, SpaceReclaimed: 0 });
  });
  router.get('/volumes/{name}', async (ctx) => {
    const name = ctx.param('name');
    const v = (backend.listVolumes ? await backend.listVolumes() : []).find((x) => x.Name === name);
    if (!v) throw new NoSuchVolumeError(name);
    ctx.send(200, v);
  });
  router.delete('/volumes/{name}', async (ctx) => {
    await need('removeVolume', 'docker volume rm')(ctx.param('name'), ctx.bool('force'));
    ctx.send(204);
  });
}

function labelMatch(labels: Record<string, string>, want: string): boolean {
  const eq = want.indexOf('=');
  return eq < 0 ? want in labels : labels[want.slice(0, eq)] === want.slice(eq + 1);
}

/** Docker's network filters: name (substring), id (prefix), label, driver, scope, type, dangling. */
export function filterNetworks(nets: DockerNetwork[], f: DockerFilters): DockerNetwork[] {
  // each host's own networks are listed as <host>/<name>; the cluster's user-defined ones have no '/'
  // each host's own networks (node/bridge) and the cluster network (Scope swarm) are pre-defined
  const builtin = (n: DockerNetwork): boolean => n.Name.includes('/') || n.Scope === 'swarm';
  return nets.filter(
    (n) =>
      (!f['name'] || f['name'].some((x) => n.Name.includes(x))) &&
      (!f['id'] || f['id'].some((x) => n.Id.startsWith(x))) &&
      (!f['label'] || f['label'].every((l) => labelMatch(n.Labels, l))) &&
      (!f['label!'] || !f['label!'].some((l) => labelMatch(n.Labels, l))) &&
      (!f['driver'] || f['driver'].includes(n.Driver)) &&
      (!f['scope'] || f['scope'].includes(n.Scope)) &&
      (!f['type'] || f['type'].includes(builtin(n) ? 'builtin' : 'custom')) &&
      (!f['dangling'] || f['dangling'].includes(String(Object.keys(n.Containers).length === 0))),
  );
}

export function filterVolumes(vols: DockerVolume[], f: DockerFilters): DockerVolume[] {
  return vols.filter(
    (v) =>
      (!f['name'] || f['name'].some((x) => v.Name.includes(x))) &&
      (!f['label'] || f['label'].every((l) => labelMatch(v.Labels, l))) &&
      (!f['label!'] || !f['label!'].some((l) => labelMatch(v.Labels, l))) &&
      (!f['driver'] || f['driver'].includes(v.Driver)) &&
      (!f['dangling'] || f['dangling'].includes(String((v.UsageData?.RefCount ?? 0) === 0))),
  );
}
