import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { JsonMessage } from '../api/docker/json-messages.ts';
import { hintFor, pullOnHosts, type HostPull } from './registry-images.ts';

async function* from(list: JsonMessage[]): AsyncGenerator<JsonMessage> {
  for (const m of list) {
    await new Promise((r) => setImmediate(r));
    yield m;
  }
}

async function all(it: AsyncIterable<JsonMessage>): Promise<JsonMessage[]> {
  const out: JsonMessage[] = [];
  for await (const m of it) out.push(m);
  return out;
}

const layer = (id: string, status: string): JsonMessage => ({ id, status, progressDetail: {} });

describe('pull on every healthy host', () => {
  test("each host's progress under its own id; the last message says where the image is", async () => {
    const hosts: HostPull[] = ['c2', 'c1'].map((host) => ({
      host,
      pull: async () =>
        from([
          layer('abc', 'Pulling fs layer'),
          layer('abc', 'Pull complete'),
          { status: 'Digest: sha256:1' },
        ]),
    }));
    const out = await all(pullOnHosts('reg:5000/redis:7', hosts));
    assert.ok(out.some((m) => m.id === 'c1/abc' && m.status === 'Pull complete'));
    assert.ok(out.some((m) => m.id === 'c2' && m.status === 'Digest: sha256:1'));
    assert.ok(out.every((m) => m.error === undefined));
    assert.deepEqual(out.at(-1), { status: 'Status: reg:5000/redis:7 is on 2 host(s): c1, c2' });
  });

  test('one host failing: the stream ends with an error naming it, its reason and where the image is', async () => {
    const hosts: HostPull[] = [
      { host: 'c1', pull: async () => from([layer('abc', 'Pull complete')]) },
      {
        host: 'c2',
        pull: async () =>
          from([
            layer('abc', 'Pulling fs layer'),
            {
              error: 'x509: certificate signed by unknown authority',
              errorDetail: { message: 'x509: certificate signed by unknown authority' },
            },
          ]),
      },
      {
        host: 'c3',
        pull: async () => {
          throw new Error('connect ECONNREFUSED');
        },
      },
    ];
    const out = await all(pullOnHosts('reg:5000/redis', hosts));
    const last = out.at(-1)!;
    assert.match(
      last.error ?? '',
      /^pull of reg:5000\/redis failed on c2: x509.*; on c3: connect ECONNREFUSED \(it is on c1 only;/,
    );
    assert.equal(last.errorDetail?.message, last.error);
    assert.ok(out.some((m) => m.id === 'c3' && /^Failed: connect ECONNREFUSED/.test(m.status ?? '')));
    // only the last message is an error: the CLI stops reading at the first one
    assert.equal(out.filter((m) => m.error !== undefined).length, 1);
  });

  test('every host with the same reason: said once, with what to do', async () => {
    const denied = {
      error: 'unauthorized: authentication required',
      errorDetail: { message: 'unauthorized: authentication required' },
    };
    const hosts: HostPull[] = ['c1', 'c2'].map((host) => ({ host, pull: async () => from([denied]) }));
    const last = (await all(pullOnHosts('reg:5000/private', hosts))).at(-1)!;
    assert.match(
      last.error ?? '',
      /failed on every host: unauthorized: authentication required \(no host has it; log in with `docker login REGISTRY`/,
    );
  });

  test('no healthy host', async () => {
    assert.match((await all(pullOnHosts('x', [])))[0]!.error ?? '', /no healthy host/);
  });

  test('hints by reason', () => {
    assert.match(hintFor('dial tcp 10.0.0.1:5000: connect: connection refused'), /not reachable/);
    assert.match(hintFor('manifest unknown'), /repository and tag/);
    assert.match(hintFor('tls: failed to verify certificate'), /certs\.d/);
  });
});
