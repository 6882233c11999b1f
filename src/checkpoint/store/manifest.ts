import { ValidationError } from '../../util/errors.ts';
import { archiveFileName, type Slot } from './layout.ts';

export const manifestFormat = 1;

export type CheckpointKind = 'full' | 'incremental';

/** Fields every manifest carries, for versions and pre-dumps alike. */
export interface ManifestBase {
  readonly format: typeof manifestFormat;
  readonly container: string;
  readonly group: number;
  /** Archive file name beside the manifest. */
  readonly file: string;
  /** Bytes of the stored file (ciphertext when encrypted). */
  readonly size: number;
  /** Bytes of the checkpoint tar itself. */
  readonly plainSize: number;
  /** Hex sha256 of the stored file. */
  readonly sha256: string;
  readonly encrypted: boolean;
  /** Id of the cluster key that encrypted the archive. */
  readonly keyId?: string;
  /** Node whose container was checkpointed. */
  readonly node: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** CRIU / podman statistics as reported (e.g. frozen_time in µs, pages_written). */
  readonly criu?: Readonly<Record<string, number>>;
  /** Why this checkpoint looks as it does, e.g. "pre-dump skipped: kernel lacks soft-dirty memory tracking". */
  readonly note?: string;
}

export interface CheckpointManifest extends ManifestBase {
  readonly version: number;
  readonly kind: CheckpointKind;
  /** For an incremental checkpoint: the version (or the group's pre-dump) it builds on. */
  readonly parent?: number | 'pre-dump';
}

export interface PreDumpManifest extends ManifestBase {
  readonly version: 'pre-dump';
  readonly kind: 'pre-dump';
}

export type AnyManifest = CheckpointManifest | PreDumpManifest;

/** What a caller says about a checkpoint it stores. */
export interface CheckpointMeta {
  readonly node: string;
  /** Default 'full'. */
  readonly kind?: CheckpointKind;
  readonly parent?: number | 'pre-dump';
  readonly criu?: Readonly<Record<string, number>>;
  readonly note?: string;
}

export type PreDumpMeta = Omit<CheckpointMeta, 'kind' | 'parent'>;

const maxNoteLength = 4096;
const maxCriuFields = 64;

export function validateMeta(version: Slot, meta: CheckpointMeta): void {
  if (typeof meta.node !== 'string' || meta.node.length === 0 || meta.node.length > 253) {
    throw new ValidationError('checkpoint meta.node must name the node (1-253 characters)');
  }
  const kind = meta.kind ?? 'full';
  if (version === 'pre-dump') {
    if (meta.kind !== undefined || meta.parent !== undefined) {
      throw new ValidationError('a pre-dump has no kind or parent');
    }
  } else if (kind === 'incremental') {
    const p = meta.parent;
    if (p === undefined) throw new ValidationError('an incremental checkpoint needs meta.parent');
    if (p !== 'pre-dump' && (!Number.isSafeInteger(p) || p < 0 || p >= version)) {
      throw new ValidationError(
        `parent ${String(p)} of version ${version} must be an older version or 'pre-dump'`,
      );
    }
  } else if (kind === 'full') {
    if (meta.parent !== undefined) throw new ValidationError('a full checkpoint has no parent');
  } else {
    throw new ValidationError(`unknown checkpoint kind ${String(kind)}: use 'full' or 'incremental'`);
  }
  if (meta.note !== undefined && (typeof meta.note !== 'string' || meta.note.length > maxNoteLength)) {
    throw new ValidationError(`checkpoint meta.note must be a string of at most ${maxNoteLength} characters`);
  }
  if (meta.criu !== undefined && !isNumberRecord(meta.criu)) {
    throw new ValidationError(
      `checkpoint meta.criu must map at most ${maxCriuFields} names to finite numbers`,
    );
  }
}

function isNumberRecord(v: unknown): v is Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const entries = Object.entries(v);
  return (
    entries.length <= maxCriuFields && entries.every(([, n]) => typeof n === 'number' && Number.isFinite(n))
  );
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a manifest read from disk field by field and against where it was
 * found: a manifest moved to another version's place is refused.
 */
export function parseManifest(
  text: string,
  expected: { readonly container: string; readonly group: number; readonly slot: Slot },
): AnyManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error('manifest is not valid JSON');
  }
  if (!isRecord(raw)) throw new Error('manifest is not a JSON object');
  const m = raw;
  const fail = (field: string) => new Error(`manifest field ${field} is missing or invalid`);
  const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  if (m['format'] !== manifestFormat) throw new Error(`unsupported manifest format ${String(m['format'])}`);
  if (m['container'] !== expected.container) throw fail('container');
  if (m['group'] !== expected.group) throw fail('group');
  if (m['version'] !== expected.slot) throw fail('version');
  if (typeof m['encrypted'] !== 'boolean') throw fail('encrypted');
  if (m['file'] !== archiveFileName(expected.slot, m['encrypted'])) throw fail('file');
  if (!isCount(m['size'])) throw fail('size');
  if (!isCount(m['plainSize'])) throw fail('plainSize');
  if (typeof m['sha256'] !== 'string' || !/^[0-9a-f]{64}$/.test(m['sha256'])) throw fail('sha256');
  if (m['encrypted'] && (typeof m['keyId'] !== 'string' || !/^[0-9a-f]{16}$/.test(m['keyId'])))
    throw fail('keyId');
  if (typeof m['node'] !== 'string' || m['node'] === '') throw fail('node');
  if (typeof m['createdAt'] !== 'string' || Number.isNaN(Date.parse(m['createdAt']))) throw fail('createdAt');
  if (m['criu'] !== undefined && !isNumberRecord(m['criu'])) throw fail('criu');
  if (m['note'] !== undefined && typeof m['note'] !== 'string') throw fail('note');
  const kind = m['kind'];
  if (expected.slot === 'pre-dump') {
    if (kind !== 'pre-dump') throw fail('kind');
  } else if (kind === 'incremental') {
    const p = m['parent'];
    if (p !== 'pre-dump' && !(isCount(p) && (p as number) < expected.slot)) throw fail('parent');
  } else if (kind !== 'full' || m['parent'] !== undefined) {
    throw fail('kind');
  }
  return m as unknown as AnyManifest;
}
