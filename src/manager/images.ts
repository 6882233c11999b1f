import type { NodeClient } from '../node-api/node-client.ts';
import { LifeboatError } from '../util/errors.ts';
import type { NodeDirectory } from './node-directory.ts';
import { newGrant } from './transfer-grant.ts';

/**
 * Makes an image present on a host with the same ID (restore requires it).
 * The target fetches it from a host that has it, agent to agent under a
 * grant: the manager never carries the bytes. Saved by name so the target
 * gets the tag with the ID: restore looks the image up by name.
 */
export async function ensureImage(
  nodes: Pick<NodeDirectory, 'peer'>,
  target: NodeClient,
  image: { ref: string; name?: string },
  sources: NodeClient[],
): Promise<{ shipped: boolean; from?: string }> {
  if (await target.imageExists(image.ref)) return { shipped: false };
  for (const src of sources) {
    if (src.name === target.name) continue;
    if (!(await src.imageExists(image.ref).catch(() => false))) continue;
    const grant = newGrant('image', image.name || image.ref, target.name);
    await src.grantTransfer(grant);
    await target.pullImage({ grant: grant.id, source: nodes.peer(src.name), image: grant.subject });
    if (await target.imageExists(image.ref)) return { shipped: true, from: src.name };
  }
  throw new LifeboatError(
    'image_unavailable',
    // "No such image" is what Docker's clients look for (docker-py raises ImageNotFound on it, the CLI pulls)
    `No such image: ${image.name ?? image.ref} (not on ${target.name}, and no healthy host has it to ship)`,
    {
      status: 404,
      hint: '`docker pull` it from a registry (it lands on every healthy host), or load it on one host (podman load); lifeboat ships it from there',
    },
  );
}
