import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import { LifeboatError } from '../../util/errors.ts';
import { drainedOrClosed } from './tar-scanner.ts';

type Pack = ReturnType<typeof tar.pack>;

/**
 * Streams members of `dir` as an uncompressed tar, in the order `names`
 * gives them (directories with everything beneath them): a checkpoint
 * archive as Podman's export writes it, made from a container directory or
 * an unpacked archive without a temporary file. Regular files, directories
 * and symlinks only. `names` may be produced lazily (a member that is still
 * being written goes last).
 */
export function packDirectory(dir: string, names: AsyncIterable<string> | Iterable<string>): Readable {
  return Readable.from(packing(dir, names));
}

async function* packing(
  dir: string,
  names: AsyncIterable<string> | Iterable<string>,
): AsyncGenerator<Buffer> {
  const pack = tar.pack();
  const feeding = (async () => {
    for await (const name of names) await addTree(pack, dir, name);
    pack.finalize();
  })();
  feeding.catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  for await (const chunk of pack as AsyncIterable<Buffer>) yield chunk;
  await feeding;
}

function headerOf(dir: string, name: string): Header {
  const st = lstatSync(join(dir, name));
  const base = {
    name,
    mode: st.mode & 0o7777,
    mtime: st.mtime,
    uid: st.uid,
    gid: st.gid,
    uname: '',
    gname: '',
    devmajor: 0,
    devminor: 0,
    pax: null,
  };
  if (st.isDirectory()) return { ...base, type: 'directory', size: 0, linkname: '' };
  if (st.isSymbolicLink())
    return { ...base, type: 'symlink', size: 0, linkname: readlinkSync(join(dir, name)) };
  if (!st.isFile()) throw new LifeboatError('unexpected_file', `${join(dir, name)} is not a regular file`);
  return { ...base, type: 'file', size: st.size, linkname: '' };
}

async function addPath(pack: Pack, dir: string, name: string, header: Header): Promise<void> {
  // a reader that went away destroys the pack: stop here instead of writing into it
  if (pack.destroying) throw new LifeboatError('archive_abandoned', 'the archive reader went away');
  let sink!: ReturnType<Pack['entry']>;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
  });
  // observed here: a failing entry is reported by `await done` below, or by the error that ends the loop
  done.catch(() => undefined);
  if (header.type === 'file') {
    for await (const chunk of createReadStream(join(dir, name), { highWaterMark: 1 << 20 })) {
      if (!sink.write(chunk as Buffer)) await drainedOrClosed(sink);
      if (sink.destroying) break;
    }
  }
  sink.end(undefined);
  await done;
}

async function addTree(pack: Pack, dir: string, name: string): Promise<void> {
  const header = headerOf(dir, name);
  await addPath(pack, dir, name, header);
  if (header.type !== 'directory') return;
  for (const entry of readdirSync(join(dir, name)).sort()) await addTree(pack, dir, `${name}/${entry}`);
}
