import { LifeboatError } from '../util/errors.ts';

/** Typed failures of the local cluster's `up`/`down`, each saying what to do. */

export class ClusterExistsError extends LifeboatError {
  constructor(root: string, hosts: number) {
    super('cluster_exists', `a local cluster is already recorded at ${root} (${hosts} hosts)`, {
      status: 409,
      hint: 'remove it first with `lifeboat down` (same --root), or choose another --root',
    });
  }
}

export class ClusterLeftoversError extends LifeboatError {
  constructor(what: string[]) {
    super('cluster_leftovers', `leftovers of an earlier local cluster are in the way: ${what.join(', ')}`, {
      status: 409,
      hint: '`lifeboat down` (same --root and --name-prefix) removes them even without a state file',
    });
  }
}

export class StorageUnavailableError extends LifeboatError {
  constructor(message: string, hint: string) {
    super('storage_unavailable', message, { status: 503, hint });
  }
}

export class ImageMismatchError extends LifeboatError {
  constructor(host: string, reference: string, expected: string, got: string) {
    super(
      'image_mismatch',
      `image ${reference} on ${host} has ID ${got.slice(0, 19)}, expected ${expected.slice(0, 19)}`,
      { hint: 'restores need the same image ID on every host: load the same archive everywhere' },
    );
  }
}
