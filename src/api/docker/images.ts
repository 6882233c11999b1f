import type { Router } from '../http/router.ts';
import type { DockerBackend } from './backend.ts';
import { NotImplementedError } from './errors.ts';
import { IMAGE_FILTER_KEYS } from './image-filters.ts';
import { parseFilters, validateImageReference } from './validate.ts';

export function registerImageRoutes(router: Router, backend: DockerBackend): void {
  router.get('/images/json', async (ctx) => {
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

  router.get('/images/search', () => {
    throw new NotImplementedError(
      'searching registries is not supported by lifeboat (it does not pull)',
      'search the registry yourself (podman search), then load the image onto the hosts',
    );
  });

  router.post('/build', () => {
    throw new NotImplementedError(
      'building images is not supported by lifeboat',
      'build where an engine builds (podman build, or docker build against a local dockerd), then load the image onto the hosts (podman load) and run it here',
    );
  });

  // `docker run` pulls when create says "No such image": say plainly why that cannot work here.
  router.post('/images/create', (ctx) => {
    const image = ctx.string('fromImage') ?? ctx.string('fromSrc') ?? '';
    throw new NotImplementedError(
      `pulling images is not supported by lifeboat (asked for ${image}${ctx.string('tag') ? ':' + ctx.string('tag') : ''})`,
      'load the image into the hosts (podman load) and refer to it by a name they know',
    );
  });
}
