import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolve } from 'node:path';
import { ValidationError } from '../util/errors.ts';
import { parseStoreUrl } from './store-url.ts';

test('embedded URLs', () => {
  assert.deepEqual(parseStoreUrl('embedded:///var/lib/lifeboat/state.json'), {
    kind: 'embedded',
    path: '/var/lib/lifeboat/state.json',
  });
  assert.deepEqual(parseStoreUrl('embedded:state.json'), { kind: 'embedded', path: resolve('state.json') });
  assert.deepEqual(parseStoreUrl('embedded:/tmp/a%20b.json'), { kind: 'embedded', path: '/tmp/a b.json' });
});

test('memory URL', () => {
  assert.deepEqual(parseStoreUrl('memory:'), { kind: 'memory' });
});

test('etcd URLs', () => {
  assert.deepEqual(parseStoreUrl('etcd://h1:2379,h2:22379,10.0.0.3/prod/lifeboat'), {
    kind: 'etcd',
    endpoints: ['h1:2379', 'h2:22379', '10.0.0.3:2379'],
    prefix: '/prod/lifeboat/',
  });
  assert.deepEqual(parseStoreUrl('etcd://127.0.0.1:2379'), {
    kind: 'etcd',
    endpoints: ['127.0.0.1:2379'],
    prefix: '/lifeboat/',
  });
  assert.deepEqual(parseStoreUrl('ETCD://[::1]:2379,[fd00::2]/x/'), {
    kind: 'etcd',
    endpoints: ['[::1]:2379', '[fd00::2]:2379'],
    prefix: '/x/',
  });
});

test('bad URLs say what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['', /no scheme/],
    ['/var/lib/state.json', /no scheme/],
    ['zookeeper://h:2181', /unknown scheme 'zookeeper'/],
    ['etcds://h:2379', /TLS/],
    ['etcd:h:2379', /etcd:\/\/host:port/],
    ['etcd:///lifeboat', /no etcd endpoint/],
    ['etcd://h1:2379,,h2', /empty endpoint/],
    ['etcd://h1:99999', /not a port/],
    ['etcd://h1:abc', /not a port/],
    ['etcd://::1:2379', /IPv6/],
    ['etcd://h_1:2379', /not a host/],
    ['etcd://h:2379/a b', /prefix segment/],
    ['etcd://h:2379/x?timeout=1', /no query/],
    ['etcd://user:pw@h:2379', /credentials/],
    ['embedded://host/state.json', /absolute path/],
    ['embedded:', /no state file/],
    ['embedded:///var/lib/', /no state file/],
    ['memory:foo', /nothing after/],
  ];
  for (const [url, why] of cases) {
    assert.throws(
      () => parseStoreUrl(url),
      (err: unknown) => err instanceof ValidationError && why.test(err.message) && err.hint !== undefined,
      url,
    );
  }
});
