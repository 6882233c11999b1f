import { PassThrough, type Readable } from 'node:stream';
import { CheckpointFailedError } from './errors.ts';

/**
 * Makes sure a stream that claims to be a tar archive starts like one (the
 * "ustar" magic of the first header) before anyone consumes it, without
 * buffering more than the first block.
 */
export async function ensureTarStream(src: Readable, operation: string): Promise<Readable> {
  const head: Buffer[] = [];
  let size = 0;
  for await (const chunk of iterateUntil(src, () => size >= 512)) {
    head.push(chunk);
    size += chunk.length;
  }
  const first = Buffer.concat(head);
  if (first.length < 512 || first.subarray(257, 262).toString('latin1') !== 'ustar') {
    src.destroy();
    const preview = first.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ');
    throw new CheckpointFailedError(
      operation,
      200,
      `answer is not a tar archive (starts with: ${JSON.stringify(preview)})`,
    );
  }
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  out.write(first);
  src.on('error', (err) => out.destroy(err));
  src.pipe(out);
  return out;
}

async function* iterateUntil(src: Readable, done: () => boolean): AsyncGenerator<Buffer> {
  while (!done()) {
    const chunk = (src.read() as Buffer | null) ?? (await nextChunk(src));
    if (chunk === null) return;
    yield chunk;
  }
}

function nextChunk(src: Readable): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const onReadable = (): void => {
      const c = src.read() as Buffer | null;
      if (c !== null) {
        cleanup();
        resolve(c);
      }
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      src.off('readable', onReadable);
      src.off('end', onEnd);
      src.off('error', onError);
    };
    src.on('readable', onReadable);
    src.on('end', onEnd);
    src.on('error', onError);
  });
}
