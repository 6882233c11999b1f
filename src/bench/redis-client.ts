import { connect, type Socket } from 'node:net';

type Reply = string | number | null | Reply[] | Error;

/**
 * A minimal RESP2 client (no dependency): enough to fill, read and checksum a
 * Redis in tests and benchmarks, and to keep a TCP connection open across a
 * checkpoint.
 */
export class RedisClient {
  private buf = Buffer.alloc(0);
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private closedError: Error | undefined;

  private constructor(private readonly sock: Socket) {
    const fail = (err: Error): void => {
      this.closedError ??= err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    };
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      try {
        this.drain();
      } catch (err) {
        // not Redis speaking (something else answered at this address): fail, never throw from an event
        fail(err as Error);
        sock.destroy();
      }
    });
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed')));
  }

  static connect(host: string, port: number, timeoutMs = 5_000): Promise<RedisClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host, port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`connect ${host}:${port}: timeout`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.setNoDelay(true);
        resolve(new RedisClient(s));
      });
      s.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
  }

  /** Retries until Redis answers PING (after a start or a restore). */
  static async waitReady(host: string, port: number, timeoutMs = 20_000): Promise<RedisClient> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const c = await RedisClient.connect(host, port, 2_000);
        if ((await c.command(['PING'])) === 'PONG') return c;
        c.close();
      } catch (err) {
        last = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis at ${host}:${port} not ready within ${timeoutMs} ms: ${String(last)}`);
  }

  command(args: (string | number)[]): Promise<Reply> {
    if (this.closedError) return Promise.reject(this.closedError);
    let out = `*${args.length}\r\n`;
    for (const a of args) {
      const s = String(a);
      out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.sock.write(out);
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private drain(): void {
    for (;;) {
      const parsed = parse(this.buf, 0);
      if (!parsed) return;
      this.buf = this.buf.subarray(parsed.end);
      const w = this.waiting.shift();
      if (!w) continue;
      if (parsed.value instanceof Error) w.reject(parsed.value);
      else w.resolve(parsed.value);
    }
  }
}

function parse(buf: Buffer, at: number): { value: Reply; end: number } | undefined {
  const nl = buf.indexOf('\r\n', at);
  if (nl < 0) return undefined;
  const type = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString('utf8', at + 1, nl);
  switch (type) {
    case '+':
      return { value: line, end: nl + 2 };
    case '-':
      return { value: new Error(line), end: nl + 2 };
    case ':':
      return { value: Number(line), end: nl + 2 };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, end: nl + 2 };
      if (buf.length < nl + 2 + len + 2) return undefined;
      return { value: buf.toString('utf8', nl + 2, nl + 2 + len), end: nl + 2 + len + 2 };
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return { value: null, end: nl + 2 };
      const items: Reply[] = [];
      let pos = nl + 2;
      for (let i = 0; i < n; i++) {
        const p = parse(buf, pos);
        if (!p) return undefined;
        items.push(p.value);
        pos = p.end;
      }
      return { value: items, end: pos };
    }
    default:
      throw new Error(`bad RESP type byte ${JSON.stringify(type)}`);
  }
}
