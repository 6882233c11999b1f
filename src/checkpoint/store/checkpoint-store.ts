import { createHash, type Hash } from 'node:crypto';
import { open, readFile, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  Transform,
  pipeline as pipelineWithCallback,
  type Readable,
  type TransformCallback,
} from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createLogger, type Logger } from '../../util/log.ts';
import {
  defaultReserveBytes,
  fsSpace,
  StoreFullError,
  StoreQuotaError,
  treeBytes,
  type FsSpace,
} from './space.ts';
import {
  ArchiveIntegrityError,
  assertChunkSize,
  createDecryptStream,
  createEncryptStream,
  type VersionLocation as ArchiveLocation,
  type Keyring,
} from '../crypto/index.ts';
import {
  durableSink,
  ensurePrivateDir,
  errnoCode,
  fsyncDir,
  privateFileMode,
  unlinkIfExists,
  writeFileDurably,
} from './durable-files.ts';
import {
  CheckpointExistsError,
  CheckpointNotFoundError,
  StoreConfigError,
  UnencryptedArchiveError,
} from './errors.ts';
import {
  StoreLayout,
  archiveFileName,
  deletingName,
  deletingPrefix,
  manifestFileName,
  parseArchiveName,
  parseIndexName,
  parseManifestName,
  tempName,
  tempPrefix,
  validateContainerKey,
  validateIndex,
  validateRef,
  type CheckpointRef,
  type Slot,
} from './layout.ts';
import {
  manifestFormat,
  parseManifest,
  validateMeta,
  type AnyManifest,
  type CheckpointManifest,
  type CheckpointMeta,
  type PreDumpManifest,
  type PreDumpMeta,
} from './manifest.ts';

export interface CheckpointStoreOptions {
  /** A directory: a GlusterFS mount, tmpfs or local disk. */
  readonly root: string;
  /** Needed to encrypt, and to open encrypted archives. */
  readonly keyring?: Keyring;
  /** Default: true when a keyring is given. false stores plain tar (for debugging); each manifest records which. */
  readonly encrypt?: boolean;
  /**
   * Open archives stored unencrypted. Default: only when this store does not
   * encrypt, since anyone able to write to the storage can forge a plain one.
   */
  readonly acceptPlain?: boolean;
  /** Plaintext bytes per encrypted chunk (default 1 MiB). */
  readonly chunkSize?: number;
  /** Bytes one container's versions may take in all (default: no quota). */
  readonly quotaBytes?: number;
  /** Free space every write leaves on the store's file system (default: 5% of it, at most 1 GiB). */
  readonly reserveBytes?: number;
  /** How free space is measured (tests give a fake file system). */
  readonly space?: (dir: string) => Promise<FsSpace>;
  readonly logger?: Logger;
}

export interface WriteOptions {
  /** Replace an existing complete version instead of failing with CheckpointExistsError. */
  readonly replace?: boolean;
  readonly signal?: AbortSignal;
}

export interface CheckpointGroup {
  readonly group: number;
  readonly preDump?: PreDumpManifest;
  /** Complete versions, oldest first. May be empty (a group just started, or emptied). */
  readonly versions: readonly CheckpointManifest[];
}

export interface VerifyOptions {
  /** Also decrypt and authenticate every chunk (reads the archive twice). */
  readonly deep?: boolean;
}

export interface GcOptions {
  /** Temp files and manifest-less archives younger than this may belong to a write in progress. Default 1 h. */
  readonly olderThanMs?: number;
  readonly now?: number;
}

/** Copies bytes through, counting (and optionally hashing) them; past `limit`, fails with `overLimit`'s error. */
class Meter extends Transform {
  bytes = 0;
  constructor(
    readonly hash?: Hash,
    readonly limit?: { bytes: number; overLimit: (bytes: number) => Error },
  ) {
    super();
  }
  override _transform(piece: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += piece.length;
    if (this.limit && this.bytes > this.limit.bytes) {
      callback(this.limit.overLimit(this.bytes));
      return;
    }
    this.hash?.update(piece);
    callback(null, piece);
  }
}

/**
 * Versioned checkpoint archives on a shared directory, one archive file plus
 * one small manifest per version (see ../README.md). Writes are atomic and
 * the manifest lands last, so what is listed is complete; reads check the
 * manifest's sha256 before returning any byte.
 */
export class CheckpointStore {
  readonly root: string;
  readonly encrypt: boolean;
  readonly #layout: StoreLayout;
  readonly #keyring: Keyring | undefined;
  readonly #acceptPlain: boolean;
  readonly #chunkSize: number | undefined;
  readonly #quotaBytes: number | undefined;
  readonly #reserveBytes: number | undefined;
  readonly #space: (dir: string) => Promise<FsSpace>;
  readonly #log: Logger;

  constructor(opts: CheckpointStoreOptions) {
    this.root = opts.root;
    this.#layout = new StoreLayout(opts.root);
    this.#keyring = opts.keyring;
    this.encrypt = opts.encrypt ?? opts.keyring !== undefined;
    if (this.encrypt && opts.keyring === undefined) {
      throw new StoreConfigError(
        'the checkpoint store was asked to encrypt but has no cluster key',
        'load the cluster key (loadKeyring), or pass encrypt: false to store plain archives',
      );
    }
    this.#acceptPlain = opts.acceptPlain ?? !this.encrypt;
    if (opts.chunkSize !== undefined) assertChunkSize(opts.chunkSize);
    this.#chunkSize = opts.chunkSize;
    this.#quotaBytes = opts.quotaBytes;
    this.#reserveBytes = opts.reserveBytes;
    this.#space = opts.space ?? fsSpace;
    this.#log = opts.logger ?? createLogger('checkpoint-store');
  }

  /**
   * Whether another version of about `expectedBytes` fits: within the
   * container's quota, and leaving the store's reserve free. Callers ask
   * before they dump (a refused dump freezes nobody); every write also
   * enforces both as it streams. Throws StoreQuotaError or StoreFullError;
   * returns how many bytes a version may take.
   */
  async checkSpace(container: string, expectedBytes: number): Promise<number> {
    return (await this.#room(container, expectedBytes)).bytes;
  }

  /** The room left, and the error to give when a version outgrows it. */
  async #room(
    container: string,
    expectedBytes: number,
  ): Promise<{ bytes: number; overLimit: (n: number) => Error }> {
    let used = 0;
    if (this.#quotaBytes !== undefined) {
      used = await treeBytes(this.#layout.containerDir(container));
      if (used + expectedBytes > this.#quotaBytes)
        throw new StoreQuotaError(container, used, expectedBytes, this.#quotaBytes);
    }
    const space = await this.#space(this.root);
    const reserve = this.#reserveBytes ?? defaultReserveBytes(space.totalBytes);
    if (space.availableBytes - reserve < expectedBytes)
      throw new StoreFullError(this.root, expectedBytes, space, reserve);
    const byQuota = this.#quotaBytes === undefined ? Infinity : this.#quotaBytes - used;
    const bySpace = space.availableBytes - reserve;
    const quota = this.#quotaBytes;
    return byQuota <= bySpace && quota !== undefined
      ? { bytes: byQuota, overLimit: (n) => new StoreQuotaError(container, used, n, quota) }
      : { bytes: bySpace, overLimit: (n) => new StoreFullError(this.root, n, space, reserve) };
  }

  /** Bytes of the newest complete version of a container (an estimate of the next one); 0 without any. */
  async newestVersionBytes(container: string): Promise<number> {
    const groups = await this.list(container).catch(() => []);
    const newest = groups.flatMap((g) => g.versions).at(-1);
    return newest?.size ?? 0;
  }

  /** Stores one checkpoint version; the manifest is written last, so it is listed only once complete. */
  async write(
    container: string,
    ref: CheckpointRef,
    source: Readable | AsyncIterable<Uint8Array>,
    meta: CheckpointMeta,
    opts: WriteOptions = {},
  ): Promise<CheckpointManifest> {
    validateRef(ref);
    validateMeta(ref.version, meta);
    const kind = meta.kind ?? 'full';
    const extra = kind === 'incremental' ? { kind, parent: meta.parent } : { kind };
    return (await this.#write(
      container,
      ref.group,
      ref.version,
      source,
      meta,
      extra,
      opts,
    )) as CheckpointManifest;
  }

  /** Stores a group's pre-dump image (the base its incremental versions build on). */
  async writePreDump(
    container: string,
    group: number,
    source: Readable | AsyncIterable<Uint8Array>,
    meta: PreDumpMeta,
    opts: WriteOptions = {},
  ): Promise<PreDumpManifest> {
    validateIndex('group', group);
    validateMeta('pre-dump', meta);
    return (await this.#write(
      container,
      group,
      'pre-dump',
      source,
      meta,
      { kind: 'pre-dump' },
      opts,
    )) as PreDumpManifest;
  }

  /** Verifies the stored file against its manifest, then streams the plaintext (authenticated chunk by chunk). */
  async open(container: string, ref: CheckpointRef): Promise<Readable> {
    validateRef(ref);
    return this.#open(container, ref.group, ref.version);
  }

  /**
   * The plaintext of a version, checked in one pass as it streams: every
   * encrypted chunk before it is released, the file's size and sha256 at the
   * end, where a mismatch ends the stream with ArchiveIntegrityError. For
   * consumers that act on nothing before the stream ended (a restore that
   * stages the whole archive first); `open` checks the whole file first.
   */
  async openChecked(container: string, ref: CheckpointRef): Promise<Readable> {
    validateRef(ref);
    const location: ArchiveLocation = { container, group: ref.group, version: ref.version };
    const manifest = await this.#readManifest(container, ref.group, ref.version);
    this.#assertReadable(manifest, location);
    let fh: FileHandle;
    try {
      fh = await open(join(this.#layout.groupDir(container, ref.group), manifest.file), 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new CheckpointNotFoundError(location, err);
      throw err;
    }
    const hash = createHash('sha256');
    let size = 0;
    const checked = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
      flush(done) {
        const actual = hash.digest('hex');
        if (size !== manifest.size)
          done(
            new ArchiveIntegrityError(
              'size_mismatch',
              `stored file is ${size} bytes, manifest says ${manifest.size}`,
              {
                location,
              },
            ),
          );
        else if (actual !== manifest.sha256)
          done(
            new ArchiveIntegrityError(
              'checksum_mismatch',
              `sha256 ${actual} does not match the manifest's ${manifest.sha256}`,
              { location },
            ),
          );
        else done();
      },
    });
    const raw = fh.createReadStream({ start: 0, highWaterMark: 1 << 20 });
    if (!manifest.encrypted) {
      pipelineWithCallback(raw, checked, () => undefined);
      return checked;
    }
    const keyring = this.#keyring;
    if (keyring === undefined) throw new Error('unreachable: encrypted archive checked without a keyring');
    const decrypt = createDecryptStream(keyring, { context: archiveContext(location), location });
    pipelineWithCallback(raw, checked, decrypt, () => undefined);
    return decrypt;
  }

  async openPreDump(container: string, group: number): Promise<Readable> {
    validateIndex('group', group);
    return this.#open(container, group, 'pre-dump');
  }

  /** Checks size and sha256 against the manifest (and with `deep`, every chunk's tag); returns the manifest. */
  async verify(container: string, ref: CheckpointRef, opts: VerifyOptions = {}): Promise<CheckpointManifest> {
    validateRef(ref);
    const { manifest, fh } = await this.#openVerified(container, ref.group, ref.version);
    if (opts.deep !== true || !manifest.encrypted) {
      await fh.close();
    } else {
      const plain = this.#decrypting(fh, manifest);
      for await (const _ of plain) {
        // Reading to the end is the check: a bad chunk or a missing final chunk throws.
      }
    }
    return manifest as CheckpointManifest;
  }

  async manifest(container: string, ref: CheckpointRef): Promise<CheckpointManifest> {
    validateRef(ref);
    return (await this.#readManifest(container, ref.group, ref.version)) as CheckpointManifest;
  }

  /** Every group directory of a container with its complete versions, oldest first. */
  async list(container: string): Promise<CheckpointGroup[]> {
    const dir = this.#layout.containerDir(container);
    const groups = (await readdirOrEmpty(dir))
      .map((name) => parseIndexName(name))
      .filter((g): g is number => g !== undefined)
      .sort((a, b) => a - b);
    const listed = await Promise.all(groups.map((g) => this.#listGroup(container, g)));
    return listed.filter((g): g is CheckpointGroup => g !== undefined);
  }

  /** The newest complete version, if any. */
  async latest(container: string): Promise<CheckpointManifest | undefined> {
    return (await this.candidatesNewestFirst(container, 1))[0];
  }

  /** Restore candidates for Algorithm 2: newest version first, then older ones across groups. */
  async candidatesNewestFirst(
    container: string,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<CheckpointManifest[]> {
    const all = (await this.list(container)).flatMap((g) => g.versions);
    all.sort((a, b) => b.group - a.group || b.version - a.version);
    return all.slice(0, limit);
  }

  /** Containers with a directory in the store. */
  async listContainers(): Promise<string[]> {
    const names = await readdirOrEmpty(this.root);
    return names.filter((n) => !n.startsWith('.') && isValidContainerKey(n)).sort();
  }

  /** Removes one version (manifest first, so a crash never leaves a listed version without its archive). */
  async remove(container: string, ref: CheckpointRef): Promise<boolean> {
    validateRef(ref);
    return this.#removeSlot(container, ref.group, ref.version);
  }

  async removePreDump(container: string, group: number): Promise<boolean> {
    validateIndex('group', group);
    return this.#removeSlot(container, group, 'pre-dump');
  }

  /** Removes a whole version group (thesis Algorithm 1, line 11). */
  async removeGroup(container: string, group: number): Promise<boolean> {
    const removed = await this.#retire(
      this.#layout.groupDir(container, group),
      this.#layout.containerDir(container),
    );
    if (removed) this.#log.info('removed checkpoint group', { container, group });
    return removed;
  }

  async removeContainer(container: string): Promise<boolean> {
    const removed = await this.#retire(this.#layout.containerDir(container), this.root);
    if (removed) this.#log.info('removed checkpoints of container', { container });
    return removed;
  }

  /**
   * Cleans what crashes leave behind: temp files and archives without a
   * manifest (older than `olderThanMs`), manifests whose archive is gone, and
   * directories half-way through deletion. Returns the paths removed,
   * relative to the root.
   */
  async gc(opts: GcOptions = {}): Promise<string[]> {
    const cutoff = (opts.now ?? Date.now()) - (opts.olderThanMs ?? 3_600_000);
    const removed: string[] = [];
    for (const name of await readdirOrEmpty(this.root)) {
      if (name.startsWith(deletingPrefix)) {
        await rm(join(this.root, name), { recursive: true, force: true });
        removed.push(name);
        continue;
      }
      if (name.startsWith('.') || !isValidContainerKey(name)) continue;
      const cdir = join(this.root, name);
      for (const sub of await readdirOrEmpty(cdir)) {
        if (sub.startsWith(deletingPrefix)) {
          await rm(join(cdir, sub), { recursive: true, force: true });
          removed.push(join(name, sub));
        } else if (parseIndexName(sub) !== undefined) {
          for (const file of await this.#gcGroup(name, Number(sub), cutoff))
            removed.push(join(name, sub, file));
        }
      }
    }
    for (const path of removed) this.#log.info('gc removed leftover', { path });
    return removed;
  }

  async #write(
    container: string,
    group: number,
    slot: Slot,
    source: Readable | AsyncIterable<Uint8Array>,
    meta: PreDumpMeta,
    extra: { kind: AnyManifest['kind']; parent?: number | 'pre-dump' | undefined },
    opts: WriteOptions,
  ): Promise<AnyManifest> {
    const location: ArchiveLocation = { container, group, version: slot };
    const dir = this.#layout.groupDir(container, group);
    const manifestPath = join(dir, manifestFileName(slot));
    const finalName = archiveFileName(slot, this.encrypt);
    await ensurePrivateDir(dir);
    if (await pathExists(manifestPath)) {
      if (opts.replace !== true) throw new CheckpointExistsError(location);
      // The old version leaves the listing before its archive is replaced.
      await unlinkIfExists(manifestPath);
    }
    const started = Date.now();
    const room = await this.#room(container, 0);
    const tmp = join(dir, tempName(finalName));
    const stored = new Meter(createHash('sha256'), {
      bytes: room.bytes,
      overLimit: (bytes) => {
        this.#log.warn('checkpoint refused: out of room', { container, group, version: slot, bytes });
        return room.overLimit(bytes);
      },
    });
    let plainSize: number;
    try {
      const fh = await open(tmp, 'wx', privateFileMode);
      try {
        const sink = durableSink(fh);
        const signal = opts.signal === undefined ? {} : { signal: opts.signal };
        if (this.encrypt && this.#keyring !== undefined) {
          const plain = new Meter();
          const encrypt = createEncryptStream(this.#keyring, {
            context: archiveContext(location),
            ...(this.#chunkSize === undefined ? {} : { chunkSize: this.#chunkSize }),
          });
          await pipeline(source, plain, encrypt, stored, sink, signal);
          plainSize = plain.bytes;
        } else {
          await pipeline(source, stored, sink, signal);
          plainSize = stored.bytes;
        }
      } finally {
        await fh.close();
      }
      await rename(tmp, join(dir, finalName));
    } catch (err) {
      await unlinkIfExists(tmp).catch(() => false);
      throw err;
    }
    // A slot rewritten with encryption switched on or off would leave the other file behind.
    await unlinkIfExists(join(dir, archiveFileName(slot, !this.encrypt)));
    const manifest = {
      format: manifestFormat,
      container,
      group,
      version: slot,
      ...extra,
      file: finalName,
      size: stored.bytes,
      plainSize,
      sha256: stored.hash?.digest('hex') ?? '',
      encrypted: this.encrypt,
      ...(this.encrypt && this.#keyring !== undefined ? { keyId: this.#keyring.current.id } : {}),
      node: meta.node,
      createdAt: new Date().toISOString(),
      ...(meta.criu === undefined ? {} : { criu: { ...meta.criu } }),
      ...(meta.note === undefined ? {} : { note: meta.note }),
    } as AnyManifest;
    await writeFileDurably(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
    await fsyncDir(dir);
    const ms = Date.now() - started;
    this.#log.info('stored checkpoint', {
      container,
      group,
      version: slot,
      bytes: manifest.size,
      encrypted: manifest.encrypted,
      ms,
      note: manifest.note,
    });
    return manifest;
  }

  async #open(container: string, group: number, slot: Slot): Promise<Readable> {
    const { manifest, fh } = await this.#openVerified(container, group, slot);
    if (!manifest.encrypted) return fh.createReadStream({ start: 0 });
    return this.#decrypting(fh, manifest);
  }

  /** The plaintext of an already verified archive; closes `fh` when done or destroyed. */
  #decrypting(fh: FileHandle, manifest: AnyManifest): Readable {
    const location: ArchiveLocation = {
      container: manifest.container,
      group: manifest.group,
      version: manifest.version,
    };
    const keyring = this.#keyring;
    if (keyring === undefined) throw new Error('unreachable: encrypted archive checked without a keyring');
    const decrypt = createDecryptStream(keyring, { context: archiveContext(location), location });
    // Errors reach the consumer through `decrypt`, which pipeline destroys with them.
    pipelineWithCallback(fh.createReadStream({ start: 0 }), decrypt, () => undefined);
    return decrypt;
  }

  /** The manifest and an open handle on its archive, whose size and sha256 matched. */
  async #openVerified(
    container: string,
    group: number,
    slot: Slot,
  ): Promise<{ manifest: AnyManifest; fh: FileHandle }> {
    const location: ArchiveLocation = { container, group, version: slot };
    const manifest = await this.#readManifest(container, group, slot);
    this.#assertReadable(manifest, location);
    let fh: FileHandle;
    try {
      fh = await open(join(this.#layout.groupDir(container, group), manifest.file), 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new CheckpointNotFoundError(location, err);
      throw err;
    }
    try {
      // One handle for the check and the read: a file renamed over it meanwhile cannot slip in unchecked.
      const { size } = await fh.stat();
      if (size !== manifest.size) {
        throw new ArchiveIntegrityError(
          'size_mismatch',
          `stored file is ${size} bytes, manifest says ${manifest.size}`,
          {
            location,
          },
        );
      }
      const hash = createHash('sha256');
      for await (const piece of fh.createReadStream({ start: 0, autoClose: false }))
        hash.update(piece as Buffer);
      const actual = hash.digest('hex');
      if (actual !== manifest.sha256) {
        throw new ArchiveIntegrityError(
          'checksum_mismatch',
          `sha256 ${actual} does not match the manifest's ${manifest.sha256}`,
          {
            location,
          },
        );
      }
      return { manifest, fh };
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  #assertReadable(manifest: AnyManifest, location: ArchiveLocation): void {
    if (!manifest.encrypted) {
      if (!this.#acceptPlain) throw new UnencryptedArchiveError(location);
      return;
    }
    const keyId = manifest.keyId ?? '';
    if (this.#keyring?.get(keyId) === undefined) {
      const held =
        this.#keyring === undefined
          ? 'this store has no keyring'
          : `keyring holds ${this.#keyring.ids().join(', ')}`;
      throw new ArchiveIntegrityError('unknown_key', `encrypted with key id ${keyId}; ${held}`, { location });
    }
  }

  async #readManifest(container: string, group: number, slot: Slot): Promise<AnyManifest> {
    const location: ArchiveLocation = { container, group, version: slot };
    let text: string;
    try {
      text = await readFile(this.#layout.manifestPath(container, group, slot), 'utf8');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new CheckpointNotFoundError(location, err);
      throw err;
    }
    try {
      return parseManifest(text, { container, group, slot });
    } catch (err) {
      throw new ArchiveIntegrityError('bad_manifest', (err as Error).message, { location, cause: err });
    }
  }

  async #listGroup(container: string, group: number): Promise<CheckpointGroup | undefined> {
    const dir = this.#layout.groupDir(container, group);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      // Not a directory, or removed since the container was listed.
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return undefined;
      throw err;
    }
    const present = new Set(names);
    const slots = names.map((n) => parseManifestName(n)).filter((s): s is Slot => s !== undefined);
    const manifests = await Promise.all(
      slots.map(async (slot) => {
        try {
          const m = await this.#readManifest(container, group, slot);
          if (present.has(m.file)) return m;
          this.#log.warn('manifest without its archive; not listed', { container, group, version: slot });
        } catch (err) {
          if (err instanceof CheckpointNotFoundError) return undefined;
          this.#log.warn('unreadable manifest; not listed', {
            container,
            group,
            version: slot,
            error: (err as Error).message,
          });
        }
        return undefined;
      }),
    );
    let preDump: PreDumpManifest | undefined;
    const versions: CheckpointManifest[] = [];
    for (const m of manifests) {
      if (m === undefined) continue;
      if (m.kind === 'pre-dump') preDump = m;
      else versions.push(m);
    }
    versions.sort((a, b) => a.version - b.version);
    return preDump === undefined ? { group, versions } : { group, preDump, versions };
  }

  async #removeSlot(container: string, group: number, slot: Slot): Promise<boolean> {
    const dir = this.#layout.groupDir(container, group);
    const manifest = await unlinkIfExists(join(dir, manifestFileName(slot)));
    const encrypted = await unlinkIfExists(join(dir, archiveFileName(slot, true)));
    const plain = await unlinkIfExists(join(dir, archiveFileName(slot, false)));
    if (manifest) this.#log.info('removed checkpoint', { container, group, version: slot });
    return manifest || encrypted || plain;
  }

  /** Renames a directory out of sight (atomic: it leaves listings at once), then deletes it. */
  async #retire(dir: string, parent: string): Promise<boolean> {
    const hidden = join(parent, deletingName(basename(dir)));
    try {
      await rename(dir, hidden);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
    await rm(hidden, { recursive: true, force: true });
    return true;
  }

  async #gcGroup(container: string, group: number, cutoff: number): Promise<string[]> {
    const dir = join(this.root, container, String(group));
    const names = await readdirOrEmpty(dir);
    const present = new Set(names);
    const removed: string[] = [];
    const removeIfOld = async (name: string, stillGarbage: () => Promise<boolean>) => {
      const st = await stat(join(dir, name)).catch(() => undefined);
      if (st === undefined || st.mtimeMs >= cutoff || !(await stillGarbage())) return;
      if (await unlinkIfExists(join(dir, name))) removed.push(name);
    };
    for (const name of names) {
      if (name.startsWith(tempPrefix)) {
        await removeIfOld(name, async () => true);
        continue;
      }
      const archiveSlot = parseArchiveName(name);
      if (archiveSlot !== undefined && !present.has(manifestFileName(archiveSlot))) {
        // Re-checked: the manifest of a write finishing right now may have landed after readdir.
        await removeIfOld(name, async () => !(await pathExists(join(dir, manifestFileName(archiveSlot)))));
        continue;
      }
      const manifestSlot = parseManifestName(name);
      if (manifestSlot !== undefined) {
        const m = await this.#readManifest(container, group, manifestSlot).catch(() => undefined);
        // The archive is published before its manifest, so a manifest whose archive is gone is garbage.
        if (m !== undefined && !(await pathExists(join(dir, m.file)))) {
          if (await unlinkIfExists(join(dir, name))) removed.push(name);
        }
      }
    }
    return removed;
  }
}

/** Binds an archive to its checkpoint: copied over another version's file, it fails authentication. */
function archiveContext(loc: ArchiveLocation): string {
  return `lifeboat checkpoint\0${loc.container}\0${loc.group}\0${loc.version}`;
}

function isValidContainerKey(name: string): boolean {
  try {
    validateContainerKey(name);
    return true;
  } catch {
    return false;
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [];
    throw err;
  }
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}
