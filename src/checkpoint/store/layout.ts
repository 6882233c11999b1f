import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ValidationError } from '../../util/errors.ts';

/**
 * Where things live under the store's root:
 *   <root>/<container>/<group>/<version>.lbx|.tar  + <version>.json
 *   <root>/<container>/<group>/pre-dump.lbx|.tar   + pre-dump.json
 * Names starting with "." are the store's own (temp files, directories being
 * deleted) and are never listed.
 */
export interface CheckpointRef {
  readonly group: number;
  readonly version: number;
}

/** A file slot in a group: a checkpoint version, or the group's pre-dump image. */
export type Slot = number | 'pre-dump';

export const encryptedExtension = '.lbx';
export const plainExtension = '.tar';
export const manifestExtension = '.json';
export const tempPrefix = '.tmp-';
export const deletingPrefix = '.deleting-';
export const maxContainerKeyLength = 128;

const containerKeyPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const numberPattern = /^(0|[1-9][0-9]{0,15})$/;

/** A container key becomes a directory name: it must not be able to leave the root. */
export function validateContainerKey(container: string): string {
  const bad = (why: string) =>
    new ValidationError(
      `invalid container key ${JSON.stringify(container)}: ${why}`,
      `use the container's name or id: 1-${maxContainerKeyLength} of A-Z a-z 0-9 _ . - starting with a letter or digit`,
    );
  if (typeof container !== 'string' || container.length === 0) throw bad('empty');
  if (container.length > maxContainerKeyLength) throw bad(`longer than ${maxContainerKeyLength} characters`);
  if (container.includes('\0')) throw bad('contains NUL');
  if (container.includes('/') || container.includes('\\')) throw bad('contains a path separator');
  if (container.includes('..')) throw bad('contains ".."');
  if (!containerKeyPattern.test(container))
    throw bad('contains characters outside A-Z a-z 0-9 _ . -, or starts with one of _ . -');
  return container;
}

export function validateIndex(what: 'group' | 'version', n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ValidationError(`invalid checkpoint ${what} ${String(n)}: must be a non-negative integer`);
  }
  return n;
}

export function validateRef(ref: CheckpointRef): CheckpointRef {
  validateIndex('group', ref.group);
  validateIndex('version', ref.version);
  return ref;
}

export function parseIndexName(name: string): number | undefined {
  return numberPattern.test(name) ? Number(name) : undefined;
}

export function slotStem(slot: Slot): string {
  return slot === 'pre-dump' ? 'pre-dump' : String(slot);
}

export function archiveFileName(slot: Slot, encrypted: boolean): string {
  return slotStem(slot) + (encrypted ? encryptedExtension : plainExtension);
}

export function manifestFileName(slot: Slot): string {
  return slotStem(slot) + manifestExtension;
}

/** The slot a manifest file name stands for, if it is one. */
export function parseManifestName(name: string): Slot | undefined {
  if (!name.endsWith(manifestExtension)) return undefined;
  const stem = name.slice(0, -manifestExtension.length);
  return stem === 'pre-dump' ? 'pre-dump' : parseIndexName(stem);
}

/** The slot an archive file name stands for, if it is one. */
export function parseArchiveName(name: string): Slot | undefined {
  const ext = [encryptedExtension, plainExtension].find((e) => name.endsWith(e));
  if (ext === undefined) return undefined;
  const stem = name.slice(0, -ext.length);
  return stem === 'pre-dump' ? 'pre-dump' : parseIndexName(stem);
}

/** A sibling temp name: same directory (so rename is atomic), hidden from listings. */
export function tempName(finalName: string): string {
  return `${tempPrefix}${randomBytes(6).toString('hex')}-${finalName}`;
}

export function deletingName(name: string): string {
  return `${deletingPrefix}${name}-${randomBytes(6).toString('hex')}`;
}

export class StoreLayout {
  constructor(readonly root: string) {}

  containerDir(container: string): string {
    return join(this.root, validateContainerKey(container));
  }

  groupDir(container: string, group: number): string {
    return join(this.containerDir(container), String(validateIndex('group', group)));
  }

  archivePath(container: string, group: number, slot: Slot, encrypted: boolean): string {
    return join(this.groupDir(container, group), archiveFileName(slot, encrypted));
  }

  manifestPath(container: string, group: number, slot: Slot): string {
    return join(this.groupDir(container, group), manifestFileName(slot));
  }
}
