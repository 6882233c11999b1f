import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { PkiError } from './errors.ts';

export const privateKeyMode = 0o600;
export const certificateMode = 0o644;
export const privateDirMode = 0o700;

export function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** Creates `dir` (and parents) as 0700. An existing directory keeps its mode: it may be shared on purpose. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: privateDirMode });
  // An unusual umask could have widened or narrowed the mode we asked for.
  if (created !== undefined) await chmod(dir, privateDirMode);
}

/**
 * Writes through a temporary file so readers never see half a PEM. With
 * `exclusive`, an existing file wins and EEXIST is thrown (link(2) is atomic
 * where a check-then-rename would race another writer).
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  mode: number,
  opts: { exclusive?: boolean } = {},
): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(tmp, data, { mode, flag: 'wx' });
    // writeFile's mode is filtered by the umask; the files' modes are part of the contract.
    await chmod(tmp, mode);
    if (opts.exclusive === true) {
      await link(tmp, path);
      await unlink(tmp);
    } else {
      await rename(tmp, path);
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Refuses a private key that anyone but its owner can read or write, as ssh
 * does: a node's key is worth root on that node.
 */
export async function assertPrivateKeyFile(path: string): Promise<void> {
  let mode: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new PkiError('pki_key_invalid', `private key ${path} is not a regular file`);
    mode = st.mode;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new PkiError('pki_file_missing', `private key ${path} does not exist`, {
        hint: 'check the directory, or issue a certificate with `lifeboat cert issue`',
      });
    }
    throw err;
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(3, '0');
    throw new PkiError(
      'pki_key_permissions',
      `private key ${path} is accessible by group or others (mode ${octal})`,
      {
        hint: `restrict it to its owner: chmod 600 ${path}`,
      },
    );
  }
}

/** Reads a PEM file; a missing one becomes a PkiError naming `what` it should have held. */
export async function readPemFile(path: string, what: string, hint?: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') {
      throw new PkiError(
        'pki_file_missing',
        `${what} ${path} does not exist`,
        hint === undefined ? {} : { hint },
      );
    }
    throw err;
  }
  if (!text.includes('-----BEGIN ')) {
    throw new PkiError('pki_invalid_pem', `${what} ${path} is not PEM-encoded`, {
      hint: 'expected a file starting with "-----BEGIN"',
    });
  }
  return text;
}
