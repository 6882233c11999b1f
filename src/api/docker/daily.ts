import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Router } from '../http/router.ts';
import { ValidationError } from '../../util/errors.ts';
import type { DockerBackend } from './backend.ts';
import { parseBody } from '../../util/schema.ts';
import { canonicalFieldNames, hostConfigSchema, isZero } from './create-fields.ts';
import { parseFilters, validateContainerName, validateImageReference } from './validate.ts';

/**
 * The daily container and image commands beyond run/ps/logs: pause,
 * unpause, rename, top, diff, stats, update, cp (archive), container and
 * image prune, image history, tag and rmi, system df (networks and volumes
 * are in networks-volumes.ts). Each goes to the host the container (or image) is on.
 */

/** Body of POST /containers/{id}/update: what Podman can change on a live container. */
export interface DockerUpdateBody {
  Memory?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  NanoCpus?: number;
  CpusetCpus?: string;
  CpusetMems?: string;
  PidsLimit?: number;
  BlkioWeight?: number;
}

/** The HostConfig fields Podman can change live: their types are the create table's (create-fields.ts). */
const UpdateSchema = hostConfigSchema.pick({
  Memory: true,
  MemoryReservation: true,
  MemorySwap: true,
  CpuShares: true,
  CpuPeriod: true,
  CpuQuota: true,
  NanoCpus: true,
  CpusetCpus: true,
  CpusetMems: true,
  PidsLimit: true,
  BlkioWeight: true,
});
const CANONICAL_UPDATE = new Map(Object.keys(UpdateSchema.shape).map((k) => [k.toLowerCase(), k]));

/** Every other field with a value is refused by name, as at create (docker update sends them all, mostly zero). */
export function parseUpdateBody(raw: unknown): DockerUpdateBody {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError('body must be a JSON object');
  const known: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(canonicalFieldNames(raw as Record<string, unknown>))) {
    const key = CANONICAL_UPDATE.get(k.toLowerCase());
    if (key) known[key] = v;
    else if (!isZero(v) && !(k === 'MemorySwappiness' && v === -1))
      throw new ValidationError(
        `${k} is not supported by update: Podman changes only a live container's CPU, memory, pids and I/O weight limits`,
        k === 'RestartPolicy' ? 'remove and create the container again with the restart policy' : undefined,
      );
  }
  const o = parseBody(UpdateSchema, known, '');
  const b: Record<string, string | number> = {};
  for (const [key, v] of Object.entries(o) as [string, string | number | null | undefined][]) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') {
      // CpusetCpus, CpusetMems
      if (v && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v))
        throw new ValidationError(`${key}: invalid set ${JSON.stringify(v)} (e.g. 0-1 or 0,2)`);
      if (v) b[key] = v;
      continue;
    }
    if (v < -1 || (v === -1 && key !== 'MemorySwap' && key !== 'CpuQuota' && key !== 'PidsLimit'))
      throw new ValidationError(`${key} must not be negative`);
    if (v !== 0) b[key] = v;
  }
  const u = b as DockerUpdateBody;
  if (u.Memory !== undefined && u.Memory < 6 * 1024 * 1024)
    throw new ValidationError('Minimum memory limit allowed is 6MB');
  if (u.NanoCpus && (u.CpuPeriod || u.CpuQuota))
    throw new ValidationError('Conflicting options: Nano CPUs and CPU Period cannot both be set');
  return u;
}

/** Docker's update as OCI LinuxResources, which Podman's update takes. */
export function updateResources(u: DockerUpdateBody): Record<string, unknown> {
  const r: Record<string, Record<string, unknown>> = {};
  const put = (group: string, key: string, v: unknown): void => {
    if (v === undefined) return;
    (r[group] ??= {})[key] = v;
  };
  put('memory', 'limit', u.Memory);
  put('memory', 'reservation', u.MemoryReservation);
  put('memory', 'swap', u.MemorySwap);
  put('cpu', 'shares', u.CpuShares);
  if (u.NanoCpus) {
    put('cpu', 'period', 100_000);
    put('cpu', 'quota', Math.round((u.NanoCpus * 100_000) / 1e9));
  }
  put('cpu', 'period', u.CpuPeriod);
  put('cpu', 'quota', u.CpuQuota);
  put('cpu', 'cpus', u.CpusetCpus);
  put('cpu', 'mems', u.CpusetMems);
  put('pids', 'limit', u.PidsLimit);
  put('blockIO', 'weight', u.BlkioWeight);
  return r;
}

/** Passes an archive answer (docker cp) on: status, the path-stat header, the tar. */
async function relay(ctx: { res: import('node:http').ServerResponse }, up: IncomingMessage): Promise<void> {
  const headers: Record<string, string> = {};
  for (const h of ['content-type', 'x-docker-container-path-stat', 'content-length'])
    if (typeof up.headers[h] === 'string') headers[h] = up.headers[h];
  ctx.res.writeHead(up.statusCode ?? 502, headers);
  await pipeline(up, ctx.res).catch(() => ctx.res.destroy());
}

export function registerDailyRoutes(router: Router, backend: DockerBackend): void {
  router.post('/containers/{id}/pause', async (ctx) => {
    await backend.pauseContainer(ctx.param('id'));
    ctx.send(204);
  });
  router.post('/containers/{id}/unpause', async (ctx) => {
    await backend.unpauseContainer(ctx.param('id'));
    ctx.send(204);
  });
  router.post('/containers/{id}/rename', async (ctx) => {
    const name = ctx.string('name');
    if (!name) throw new ValidationError('rename needs the new name: ?name=NEW');
    await backend.renameContainer(ctx.param('id'), validateContainerName(name.replace(/^\//, '')));
    ctx.send(204);
  });
  router.get('/containers/{id}/top', async (ctx) => {
    const ps = ctx.string('ps_args');
    if (ps !== undefined && !/^[A-Za-z0-9 ,=_-]*$/.test(ps))
      throw new ValidationError(`invalid ps_args "${ps}" (ps options such as -ef or aux)`);
    ctx.send(200, await backend.topContainer(ctx.param('id'), ps || undefined));
  });
  router.get('/containers/{id}/changes', async (ctx) => {
    ctx.send(200, await backend.containerChanges(ctx.param('id')));
  });
  router.get('/containers/{id}/stats', async (ctx) => {
    // Docker streams unless stream=0 (the CLI's --no-stream); one-shot skips the CPU delta
    const stream = ctx.bool('stream', true) && !ctx.bool('one-shot');
    const body = await backend.containerStats(ctx.param('id'), stream);
    ctx.res.on('close', () => body.destroy());
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    await pipeline(body, ctx.res).catch(() => ctx.res.destroy());
  });
  router.post('/containers/{id}/update', async (ctx) => {
    await backend.updateContainer(ctx.param('id'), parseUpdateBody(await ctx.json()));
    ctx.send(200, { Warnings: [] });
  });
  for (const method of ['HEAD', 'GET', 'PUT'] as const) {
    router.add(method, '/containers/{id}/archive', async (ctx) => {
      const path = ctx.string('path');
      if (!path) throw new ValidationError('archive needs the path in the container: ?path=/some/dir');
      const query: Record<string, string> = { path };
      for (const k of ['noOverwriteDirNonDir', 'copyUIDGID'] as const) {
        const v = ctx.string(k);
        if (v !== undefined) query[k] = v;
      }
      await relay(
        ctx,
        await backend.containerArchive(
          ctx.param('id'),
          method,
          query,
          method === 'PUT' ? ctx.req : undefined,
        ),
      );
    });
  }
  router.post('/containers/prune', async (ctx) => {
    ctx.send(200, await backend.pruneContainers(parseFilters(ctx.string('filters'), ['label', 'until'])));
  });

  router.get('/images/{name*}/history', async (ctx) => {
    ctx.send(200, await backend.imageHistory(validateImageReference(ctx.param('name'))));
  });
  router.post('/images/{name*}/tag', async (ctx) => {
    const repo = ctx.string('repo');
    if (!repo) throw new ValidationError('tag needs ?repo=NAME[&tag=TAG]');
    const tag = ctx.string('tag') || 'latest';
    validateImageReference(`${repo}:${tag}`);
    await backend.tagImage(validateImageReference(ctx.param('name')), repo, tag);
    ctx.send(201);
  });
  // noprune: Docker keeps untagged parent images; here there are none to prune (no build), so it changes nothing
  router.delete('/images/{name*}', async (ctx) => {
    ctx.send(200, await backend.removeImage(validateImageReference(ctx.param('name')), ctx.bool('force')));
  });
  router.post('/images/prune', async (ctx) => {
    const filters = parseFilters(ctx.string('filters'), ['dangling', 'label', 'until']);
    ctx.send(200, await backend.pruneImages(filters));
  });

  router.get('/system/df', async (ctx) => {
    ctx.send(200, await backend.systemDf());
  });
  // docker system prune: nothing of this kind exists to prune
  router.post('/build/prune', (ctx) => ctx.send(200, { CachesDeleted: [], SpaceReclaimed: 0 }));
  router.get('/containers/{id}/export', async (ctx) => {
    const tar = await backend.exportContainer(ctx.param('id'));
    ctx.res.on('close', () => tar.destroy());
    ctx.res.writeHead(200, { 'Content-Type': 'application/x-tar' });
    await pipeline(tar, ctx.res).catch(() => ctx.res.destroy());
  });
}
