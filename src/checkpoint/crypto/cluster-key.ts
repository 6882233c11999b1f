import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inspect } from 'node:util';
import { ClusterKeyError } from './errors.ts';

export const clusterKeyLength = 32;
/** Bytes of sha256(key) that name a key in archive headers and manifests. */
export const keyIdLength = 8;

/**
 * The cluster's 256-bit archive key. Every node that writes or restores
 * checkpoints holds the same key; the id (a prefix of its sha256) tells which
 * key an archive needs without revealing the key.
 */
export class ClusterKey {
  /** Hex of the first 8 bytes of sha256(key). */
  readonly id: string;
  readonly #material: Buffer;

  constructor(material: Uint8Array) {
    if (material.length !== clusterKeyLength) {
      throw new ClusterKeyError(
        `a cluster key must be ${clusterKeyLength} bytes, got ${material.length}`,
        'create one with generateClusterKey (32 random bytes)',
      );
    }
    this.#material = Buffer.from(material);
    this.id = keyIdOf(this.#material);
  }

  /** The raw key, for the cipher only: never log or serialize it. */
  material(): Buffer {
    return this.#material;
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  [inspect.custom](): string {
    return `ClusterKey { id: '${this.id}' }`;
  }
}

export function keyIdOf(material: Uint8Array): string {
  return createHash('sha256').update(material).digest().subarray(0, keyIdLength).toString('hex');
}

/**
 * The current key (used to encrypt) and older keys (still accepted to
 * decrypt), so keys can be rotated without making old archives unreadable.
 */
export class Keyring {
  readonly current: ClusterKey;
  readonly #byId: Map<string, ClusterKey>;

  constructor(current: ClusterKey, previous: readonly ClusterKey[] = []) {
    this.current = current;
    this.#byId = new Map([current, ...previous].map((k) => [k.id, k]));
  }

  get(id: string): ClusterKey | undefined {
    return this.#byId.get(id);
  }

  /** Ids of every key held, the current one first. */
  ids(): string[] {
    return [...this.#byId.keys()];
  }
}

/** Accepts 32 raw bytes, or 64 hex digits with surrounding whitespace. */
export function parseClusterKey(data: Uint8Array, source: string): ClusterKey {
  if (data.length === clusterKeyLength) return new ClusterKey(data);
  const text = Buffer.from(data).toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new ClusterKey(Buffer.from(text, 'hex'));
  throw new ClusterKeyError(
    `cluster key ${source} holds neither 32 raw bytes nor 64 hex digits (${data.length} bytes)`,
    `create a new key with generateClusterKey, or write 32 random bytes: head -c 32 /dev/urandom > ${source}`,
  );
}

/** Loads a key file, refusing one that anyone but its owner can read or write. */
export async function loadClusterKey(path: string): Promise<ClusterKey> {
  let mode: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) {
      throw new ClusterKeyError(`cluster key ${path} is not a regular file`, 'point at the key file itself');
    }
    mode = st.mode;
  } catch (err) {
    if (err instanceof ClusterKeyError) throw err;
    if (errnoCode(err) === 'ENOENT') {
      throw new ClusterKeyError(
        `cluster key ${path} does not exist`,
        'copy the cluster key to this node, or create one with generateClusterKey',
        err,
      );
    }
    throw err;
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    throw new ClusterKeyError(
      `cluster key ${path} is accessible by group or others (mode ${octal}); refusing to use it`,
      `restrict it to its owner: chmod 600 ${path} (and consider rotating the key: it may have been read)`,
    );
  }
  return parseClusterKey(await readFile(path), path);
}

/** Loads the current key and any previous ones into a keyring. */
export async function loadKeyring(
  currentPath: string,
  previousPaths: readonly string[] = [],
): Promise<Keyring> {
  const current = await loadClusterKey(currentPath);
  const previous = await Promise.all(previousPaths.map((p) => loadClusterKey(p)));
  return new Keyring(current, previous);
}

/** Writes a new random key as hex (mode 0600); never overwrites an existing file. */
export async function generateClusterKey(path: string): Promise<ClusterKey> {
  const key = new ClusterKey(randomBytes(clusterKeyLength));
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, key.material().toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') {
      throw new ClusterKeyError(
        `cluster key ${path} already exists; refusing to overwrite it`,
        'archives written with that key need it to be restored: move it aside first (keep it as a previous key)',
        err,
      );
    }
    throw err;
  }
  // The umask may have narrowed or widened the mode asked for; 0600 is part of the contract.
  await chmod(path, 0o600);
  return key;
}

export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}
