import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createLogger } from '../util/log.ts';
import { PublishedPortForwarder, type PublishedPort } from './port-forwarder.ts';

/** A server on `host:port` that greets every connection with `hello`. */
async function greeter(host: string, port: number, hello: string): Promise<net.Server> {
  const s = net.createServer((c) => c.end(hello));
  await new Promise<void>((resolve) => s.listen(port, host, resolve));
  return s;
}

function read(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(port, host);
    let out = '';
    c.on('data', (d) => (out += d.toString()));
    c.on('end', () => resolve(out));
    c.on('error', reject);
  });
}

describe('published port forwarder', () => {
  test('relays to the current host, follows a move, reports what it cannot forward', async () => {
    const a = await greeter('127.0.0.2', 0, 'from host A');
    const port = (a.address() as net.AddressInfo).port;
    const b = await greeter('127.0.0.3', port, 'from host B');
    let published: PublishedPort[] = [{ port, address: '127.0.0.2', container: 'cache' }];
    const f = new PublishedPortForwarder({
      listenHost: '127.0.0.1',
      published: () => Promise.resolve(published),
      log: createLogger('ports', () => undefined),
    });
    try {
      await f.reconcile();
      assert.equal(await read('127.0.0.1', port), 'from host A');
      published = [{ port, address: '127.0.0.3', container: 'cache' }];
      await f.reconcile();
      assert.equal(await read('127.0.0.1', port), 'from host B');
      // a second container on the same port is reported, not fought over
      published = [...published, { port, address: '127.0.0.2', container: 'other' }];
      await f.reconcile();
      assert.equal(await read('127.0.0.1', port), 'from host B');
      assert.match(f.status().find((s) => s.container === 'other')?.error ?? '', /published by cache too/);
      // a port another process holds on the listen address
      const taken = await greeter('127.0.0.1', 0, 'someone else');
      const takenPort = (taken.address() as net.AddressInfo).port;
      published = [{ port: takenPort, address: '127.0.0.2', container: 'web' }];
      await f.reconcile();
      assert.match(f.status()[0]?.error ?? '', /is taken/);
      assert.equal(await read('127.0.0.1', takenPort), 'someone else');
      taken.close();
      // gone from the cluster: no longer forwarded
      published = [];
      await f.reconcile();
      assert.deepEqual(f.status(), []);
      await assert.rejects(read('127.0.0.1', port));
    } finally {
      await f.close();
      a.close();
      b.close();
    }
  });
});
