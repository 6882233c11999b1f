import type { Readable } from 'node:stream';
import type { NodeClient } from '../node-api/node-client.ts';
import { LifeboatError } from '../util/errors.ts';

/**
 * Makes an image present on a host with the same ID (restore requires it),
 * shipping it from a host that has it. Saved by name so the target gets the
 * tag with the ID: restore looks the image up by name.
 */
export async function ensureImage(
  target: NodeClient,
  image: { ref: string; name?: string },
  sources: NodeClient[],
): Promise<{ shipped: boolean; from?: string }> {
  if (await target.imageExists(image.ref)) return { shipped: false };
  for (const src of sources) {
    if (src.name === target.name) continue;
    if (!(await src.imageExists(image.ref).catch(() => false))) continue;
    const archive = await src.imageArchive(image.name || image.ref);
    await target.loadImage(archive as Readable);
    if (await target.imageExists(image.ref)) return { shipped: true, from: src.name };
  }
  throw new LifeboatError(
    'image_unavailable',
    `image ${image.name ?? image.ref} is not on ${target.name} and no healthy host has it`,
    {
      status: 404,
      hint: 'load the image on one host (podman load / lifeboat images build), lifeboat ships it from there',
    },
  );
}
