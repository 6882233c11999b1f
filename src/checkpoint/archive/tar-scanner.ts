import tar from 'tar-stream';
import { HostileArchiveError } from './errors.ts';

/** One member as tar-stream hands it out: header, header offset, and its body (must be read to the end). */
export type TarEntry = tar.Extract extends AsyncIterable<infer S> ? S : never;

export interface TarScanResult {
  entries: number;
  /** Bytes of the tar stream itself. */
  bytes: number;
}

const BLOCK = 512;
const roundUp = (n: number): number => Math.ceil(n / BLOCK) * BLOCK;

/**
 * Push-style tar reader: `write()` chunks in, `onEntry` sees each member in
 * order (one at a time, with backpressure), `end()` settles once every member
 * was handled. Unlike tar-stream alone it also refuses a tar that stops at a
 * member boundary without the end-of-archive blocks, which is what a cut
 * transfer usually looks like.
 */
export class TarScanner {
  private readonly extract = tar.extract();
  private readonly done: Promise<void>;
  private failure: unknown = undefined;
  private failed = false;
  private bytes = 0;
  private entries = 0;
  private tail: Buffer = Buffer.alloc(0);
  private lastEnd = 0;
  private lastName: string | undefined;

  constructor(
    private readonly inside: string | undefined,
    private readonly onEntry: (entry: TarEntry) => Promise<void>,
  ) {
    this.done = this.consume();
    // Surfaced to the caller through write() and end().
    this.done.catch(() => undefined);
  }

  async write(chunk: Buffer): Promise<void> {
    if (this.failed) throw this.failure;
    this.bytes += chunk.length;
    this.keepTail(chunk);
    if (!this.extract.write(chunk)) await drainedOrClosed(this.extract);
    if (this.failed) throw this.failure;
    if (this.extract.destroying) {
      await this.done;
      throw this.failure ?? new Error('tar reader closed unexpectedly');
    }
  }

  async end(): Promise<TarScanResult> {
    if (this.failed) throw this.failure;
    this.extract.end(undefined);
    await this.done;
    if (this.inside !== undefined && this.bytes === 0) return { entries: 0, bytes: 0 };
    if (this.bytes - this.lastEnd < BLOCK || !this.tail.every((b) => b === 0)) {
      throw this.fail(
        new HostileArchiveError(
          this.bytes === 0 ? 'not-tar' : 'truncated',
          this.location(),
          this.bytes === 0
            ? 'empty input, not a tar archive'
            : 'archive ends without its end-of-archive blocks (premature end, later members may be missing)',
        ),
      );
    }
    return { entries: this.entries, bytes: this.bytes };
  }

  /** Stops reading; pending and later write()/end() calls fail with `err`. */
  abort(err: unknown): void {
    this.fail(err);
  }

  private async consume(): Promise<void> {
    try {
      for await (const entry of this.extract) {
        this.entries++;
        this.lastName = entry.header.name;
        // tar-stream never reads a body for directories, whatever their size field says.
        const size = entry.header.type === 'directory' ? 0 : entry.header.size;
        this.lastEnd = entry.offset + BLOCK + roundUp(size);
        await this.onEntry(entry);
        entry.resume();
      }
    } catch (err) {
      throw this.fail(this.translate(err));
    }
  }

  private fail(err: unknown): unknown {
    if (!this.failed) {
      this.failed = true;
      this.failure = err;
      this.extract.destroy(err instanceof Error ? err : new Error(String(err)));
    }
    return this.failure;
  }

  private location(): { member: string; inside?: string } {
    const member = this.lastName ?? '(start of archive)';
    return this.inside === undefined ? { member } : { member, inside: this.inside };
  }

  private translate(err: unknown): unknown {
    if (!(err instanceof Error) || err instanceof HostileArchiveError) return err;
    if (err.message === 'Unexpected end of data') {
      return new HostileArchiveError(
        'truncated',
        this.location(),
        'archive ends in the middle of a member (premature end)',
      );
    }
    if (err.message.startsWith('Invalid tar header')) {
      return new HostileArchiveError(
        'not-tar',
        this.location(),
        this.lastName === undefined
          ? 'not an uncompressed tar archive (invalid header)'
          : 'invalid tar header after this member (corrupted, or not an uncompressed tar)',
      );
    }
    if (err.message === 'Header exceeds max size') {
      return new HostileArchiveError(
        'oversize',
        this.location(),
        'pax or long-name header larger than 4 MiB',
      );
    }
    return err;
  }

  private keepTail(chunk: Buffer): void {
    if (chunk.length >= BLOCK) {
      this.tail = Buffer.from(chunk.subarray(chunk.length - BLOCK));
    } else {
      const joined = Buffer.concat([this.tail, chunk]);
      this.tail = joined.subarray(Math.max(0, joined.length - BLOCK));
    }
  }
}

interface Drainable {
  readonly destroying: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * Waits for `drain`, or for `close` so that a destroyed stream cannot hang
 * the writer; a stream already being destroyed may have closed already.
 */
export function drainedOrClosed(stream: Drainable): Promise<void> {
  if (stream.destroying) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}
