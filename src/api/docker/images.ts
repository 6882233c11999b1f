import type { Router } from '../http/router.ts';
import type { RequestContext } from '../http/context.ts';
import { errorMessage as messageOf, ValidationError } from '../../util/errors.ts';
import { errorMessage, type JsonMessage } from './json-messages.ts';
import type { DockerBackend, RegistryLogin } from './backend.ts';
import { NotImplementedError } from './errors.ts';
import { IMAGE_FILTER_KEYS } from './image-filters.ts';
import { parseFilters, validateImageReference } from './validate.ts';

export function registerImageRoutes(router: Router, backend: DockerBackend): void {
  router.get('/images/json', async (ctx) => {
    if (ctx.bool('manifests'))
      throw new ValidationError(
        'manifests=1 (docker image ls --tree) is not supported: images here are single-platform, with no manifest list',
      );
    ctx.send(
      200,
      await backend.listImages({
        all: ctx.bool('all'),
        filters: parseFilters(ctx.string('filters'), IMAGE_FILTER_KEYS),
      }),
    );
  });

  router.get('/images/{name*}/json', async (ctx) => {
    ctx.send(200, await backend.inspectImage(validateImageReference(ctx.param('name'))));
  });

  // docker search: from a host, which reaches the registries (X-Registry-Auth passed through)
  router.get('/images/search', async (ctx) => {
    const term = ctx.string('term');
    if (!term) throw new ValidationError('term is required', 'docker search [REGISTRY/]NAME');
    const limit = ctx.int('limit');
    if (limit !== undefined && (limit < 1 || limit > 100))
      throw new ValidationError('limit must be between 1 and 100');
    const filters = ctx.string('filters');
    if (filters !== undefined) parseFilters(filters, ['is-official', 'is-automated', 'stars']);
    ctx.send(
      200,
      await backend.searchImages(term, {
        ...(limit ? { limit } : {}),
        ...(filters ? { filters } : {}),
        ...registryAuth(ctx),
      }),
    );
  });

  router.post('/build', () => {
    throw new NotImplementedError(
      'building images is not supported by lifeboat',
      'build where an engine builds (podman build, or docker build against a local dockerd), then load the image onto the hosts (podman load) and run it here',
    );
  });

  // docker pull (and `docker run` of an image no host has): from the registry onto every healthy host
  router.post('/images/create', async (ctx) => {
    if (ctx.string('fromSrc') !== undefined)
      throw new NotImplementedError(
        'importing a root file system (docker import) is not supported by lifeboat',
        'push the image to a registry and pull it here, or load it onto the hosts (podman load)',
      );
    for (const key of ['repo', 'message', 'changes'])
      if (ctx.string(key) !== undefined)
        throw new ValidationError(`"${key}" belongs to docker import, which lifeboat does not support`);
    const fromImage = ctx.string('fromImage');
    if (!fromImage) throw new ValidationError('fromImage is required', 'docker pull NAME[:TAG]');
    const tag = ctx.string('tag');
    validateImageReference(tag ? `${fromImage}:${tag}` : fromImage);
    await streamMessages(ctx, (signal) =>
      backend.pullImage(
        {
          image: fromImage,
          ...(tag ? { tag } : {}),
          ...(ctx.string('platform') ? { platform: ctx.string('platform')! } : {}),
          ...registryAuth(ctx),
        },
        signal,
      ),
    );
  });

  // docker login: checked against the registry from a host; the CLI keeps the credentials and sends them with each pull
  router.post('/auth', async (ctx) => {
    const body = (await ctx.json()) as Record<string, unknown> | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ValidationError('the login body must be a JSON object', 'docker login REGISTRY');
    const known = [
      'username',
      'password',
      'serveraddress',
      'identitytoken',
      'email',
      'auth',
      'registrytoken',
    ];
    const login: RegistryLogin = {};
    for (const [k, v] of Object.entries(body)) {
      const key = k.toLowerCase();
      if (!known.includes(key))
        throw new ValidationError(`unknown field "${k}" in the login body`, `fields: ${known.join(', ')}`);
      if (v === undefined || v === null || v === '') continue;
      if (typeof v !== 'string') throw new ValidationError(`"${k}" must be a string`);
      if (key === 'username' || key === 'password' || key === 'serveraddress' || key === 'identitytoken')
        login[key] = v;
      else if (key !== 'email')
        throw new ValidationError(
          `"${k}" is not supported in a login: give username and password (or identitytoken)`,
        );
    }
    ctx.send(200, await backend.registryLogin(login));
  });

  router.post('/images/{name*}/push', async (ctx) => {
    const name = validateImageReference(ctx.param('name'));
    const tag = ctx.string('tag');
    if (tag) validateImageReference(`${name}:${tag}`);
    const platform = ctx.string('platform');
    if (platform)
      throw new ValidationError(
        `platform=${platform} (docker push --platform) is not supported: the image is pushed as the host has it`,
        'leave out --platform: lifeboat keeps single-platform images, so the push is that platform',
      );
    await streamMessages(ctx, (signal) =>
      backend.pushImage({ image: name, ...(tag ? { tag } : {}), ...registryAuth(ctx) }, signal),
    );
  });
}

/**
 * The client's X-Registry-Auth, checked to be what Docker sends (base64url
 * JSON) and passed on as it came; its content is never logged.
 */
export function registryAuth(ctx: RequestContext): { registryAuth?: string } {
  const raw = ctx.req.headers['x-registry-auth'];
  const h = Array.isArray(raw) ? raw[0] : raw;
  if (h === undefined || h === '') return {};
  let ok = false;
  try {
    const v: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    ok = typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new ValidationError(
      'invalid X-Registry-Auth header: not base64url-encoded JSON credentials',
      'send {"username": ..., "password": ..., "serveraddress": ...} base64url-encoded, as docker login does',
    );
  return { registryAuth: h };
}

/** Docker's progress stream: 200 at once, one JSON message per line, errors inside it. */
async function streamMessages(
  ctx: RequestContext,
  start: (signal: AbortSignal) => Promise<AsyncIterable<JsonMessage>>,
): Promise<void> {
  const abort = new AbortController();
  ctx.res.on('close', () => abort.abort());
  const messages = await start(abort.signal);
  ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
  ctx.res.flushHeaders();
  try {
    for await (const m of messages) {
      if (!ctx.res.write(JSON.stringify(m) + '\r\n')) await new Promise((r) => ctx.res.once('drain', r));
    }
  } catch (err) {
    if (!abort.signal.aborted) ctx.res.write(JSON.stringify(errorMessage(messageOf(err))) + '\r\n');
  }
  ctx.res.end();
}
