/**
 * Bytes waiting to form a whole chunk. Holds the incoming buffers as they
 * came and copies only when a chunk is taken, so a stream buffers at most
 * about one chunk plus one incoming piece.
 */
export class ByteQueue {
  #parts: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(piece: Buffer): void {
    if (piece.length === 0) return;
    this.#parts.push(piece);
    this.#length += piece.length;
  }

  /** Removes and returns the first `n` bytes (n <= length). */
  take(n: number): Buffer {
    if (n > this.#length) throw new RangeError(`cannot take ${n} bytes from ${this.#length}`);
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const part = this.#parts[0];
      if (part === undefined) break;
      const need = n - offset;
      if (part.length <= need) {
        part.copy(out, offset);
        offset += part.length;
        this.#parts.shift();
      } else {
        part.copy(out, offset, 0, need);
        this.#parts[0] = part.subarray(need);
        offset += need;
      }
    }
    this.#length -= n;
    return out;
  }

  /** Up to `n` leading bytes without removing them. */
  peek(n: number): Buffer {
    const parts: Buffer[] = [];
    let have = 0;
    for (const part of this.#parts) {
      if (have >= n) break;
      parts.push(part.subarray(0, n - have));
      have += Math.min(part.length, n - have);
    }
    return Buffer.concat(parts);
  }
}
