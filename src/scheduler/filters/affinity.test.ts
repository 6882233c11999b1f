import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { extractSchedulingFromRequest, AFFINITIES_LABEL } from '../expression.ts';
import { makeContainer, makeImage, makeNode, makeRequest, names } from '../test-fixtures.ts';
import type { ContainerRequest, SchedNode } from '../types.ts';
import { affinityFilter, repositoryOf } from './affinity.ts';

// The fixture of Swarm's affinity_test.go.
function fixture(): SchedNode[] {
  return [
    makeNode('node-0-name', {
      id: 'node-0-id',
      containers: [
        makeContainer('container-n0-0-name', { id: 'container-n0-0-id' }),
        makeContainer('container-n0-1-name', { id: 'container-n0-1-id' }),
      ],
      images: [makeImage('image-0-id', 'image-0:tag1', 'image-0:tag2')],
    }),
    makeNode('node-1-name', {
      id: 'node-1-id',
      containers: [
        makeContainer('/container-n1-0-name', { id: 'container-n1-0-id' }),
        makeContainer('/container-n1-1-name', { id: 'container-n1-1-id' }),
      ],
      images: [makeImage('image-1-id', 'image-1:tag1', 'image-0:tag3', 'image-1:tag2')],
    }),
    makeNode('node-2-name', { id: 'node-2-id' }),
  ];
}

function run(nodes: SchedNode[], ...affinities: string[]): string[] {
  return runReq(nodes, makeRequest({ env: affinities.map((a) => `affinity:${a}`) }));
}

function runReq(nodes: SchedNode[], req: ContainerRequest): string[] {
  return names(affinityFilter.filter(req, extractSchedulingFromRequest(req), nodes));
}

describe('affinity filter', () => {
  const nodes = fixture();

  test('no affinities keeps every node', () => {
    assert.deepEqual(run(nodes), names(nodes));
  });

  test('container by name, id and glob', () => {
    assert.deepEqual(run(nodes, 'container==does_not_exsits'), []);
    assert.deepEqual(run(nodes, 'container==container-n0*'), ['node-0-name']);
    assert.deepEqual(run(nodes, 'container==container-*'), ['node-0-name', 'node-1-name']);
    assert.deepEqual(run(nodes, 'container==container-n0-0-id'), ['node-0-name']);
    assert.deepEqual(run(nodes, 'container==container-n1-0-name'), ['node-1-name']);
  });

  test('container != keeps nodes without a match', () => {
    assert.deepEqual(run(nodes, 'container!=container-n0-0-id'), ['node-1-name', 'node-2-name']);
    assert.deepEqual(run(nodes, 'container!=container-n0-1-id'), ['node-1-name', 'node-2-name']);
    assert.deepEqual(run(nodes, 'container!=container-n1-0-name'), ['node-0-name', 'node-2-name']);
    assert.deepEqual(run(nodes, 'container!=container-n1-1-name'), ['node-0-name', 'node-2-name']);
  });

  test('affinities chain as a logical AND; conflicting ones keep nothing', () => {
    assert.deepEqual(run(nodes, 'container!=container-n1-1-name', 'container==container-n1-1-name'), []);
    assert.deepEqual(run(nodes, 'container!=container-n0-1-id', 'container!=container-n1-1-id'), [
      'node-2-name',
    ]);
    assert.deepEqual(run(nodes, 'container==container-n0-1-id', 'container==container-n1-1-id'), []);
  });

  test('image by id, by name:tag and by repository', () => {
    assert.deepEqual(run(nodes, 'image==image-0-id'), ['node-0-name']);
    assert.deepEqual(run(nodes, 'image==image-0:tag3'), ['node-1-name']);
    assert.deepEqual(run(nodes, 'image!=image-0:tag3'), ['node-0-name', 'node-2-name']);
    assert.deepEqual(run(nodes, 'image==image-1'), ['node-1-name']);
    assert.deepEqual(run(nodes, 'image!=image-1'), ['node-0-name', 'node-2-name']);
  });

  test('soft affinities narrow when they can and are dropped when they would leave no node', () => {
    assert.deepEqual(run(nodes, 'image==~image-0:tag3'), ['node-1-name']);
    assert.deepEqual(run(nodes, 'image==~ima~ge-0:tag3'), names(nodes));
    assert.deepEqual(run(nodes, 'image==~image-1:tag3'), names(nodes));
    assert.deepEqual(run(nodes, 'image==~image-*'), ['node-0-name', 'node-1-name']);
    assert.deepEqual(run(nodes, 'image!=~image-*'), ['node-2-name']);
    assert.deepEqual(run(nodes, 'image==~/image-\\d*/'), ['node-0-name', 'node-1-name']);
    assert.deepEqual(run(nodes, 'image==~nothing', 'container==container-n1*'), ['node-1-name']);
  });

  test('affinities from the com.docker.swarm.affinities label', () => {
    const req = makeRequest({ labels: { [AFFINITIES_LABEL]: '["image==image-1"]' } });
    assert.deepEqual(runReq(nodes, req), ['node-1-name']);
    const not = makeRequest({ labels: { [AFFINITIES_LABEL]: '["image!=image-1"]' } });
    assert.deepEqual(runReq(nodes, not), ['node-0-name', 'node-2-name']);
  });

  test('docs: the logger goes next to frontend, by name or by short ID', () => {
    const id = '87c4376856a8' + 'f'.repeat(52);
    const cluster = [
      makeNode('node-1', { containers: [makeContainer('frontend', { id, image: 'nginx' })] }),
      makeNode('node-2'),
    ];
    assert.deepEqual(run(cluster, 'container==frontend'), ['node-1']);
    assert.deepEqual(run(cluster, 'container==87c4376856a8'), ['node-1']);
    assert.deepEqual(run(cluster, 'container!=87c4376856a8'), ['node-2']);
  });

  test('an ID prefix needs 12 hex digits, so a short name never matches an ID', () => {
    const cluster = [makeNode('a', { containers: [makeContainer('web', { id: 'db12' + '0'.repeat(60) })] })];
    assert.deepEqual(run(cluster, 'container==db'), []);
    assert.deepEqual(run(cluster, 'container==db1200000000'), ['a']);
  });

  test('docs: image==redis picks the nodes that pulled redis, also by image ID', () => {
    const redis = 'sha256:06a1f75304ba' + '1'.repeat(52);
    const cluster = [
      makeNode('node-1', { images: [makeImage(redis, 'redis:latest')] }),
      makeNode('node-2', { images: [makeImage('sha256:' + '2'.repeat(64), 'mysql:latest')] }),
      makeNode('node-3', { images: [makeImage(redis, 'docker.io/library/redis:latest')] }),
    ];
    assert.deepEqual(run(cluster, 'image==redis'), ['node-1', 'node-3']);
    assert.deepEqual(run(cluster, 'image==redis:latest'), ['node-1', 'node-3']);
    assert.deepEqual(run(cluster, 'image==06a1f75304ba'), ['node-1', 'node-3']);
    assert.deepEqual(run(cluster, 'image==docker.io/library/redis'), ['node-3']);
    assert.deepEqual(run(cluster, 'image==~redis'), ['node-1', 'node-3']);
    assert.deepEqual(run(cluster, 'image==~postgres'), ['node-1', 'node-2', 'node-3']);
  });

  test('podman names: docker.io/ and localhost/ prefixes are optional', () => {
    const cluster = [
      makeNode('a', { images: [makeImage('sha256:aa', 'docker.io/bitnami/redis:7.2')] }),
      makeNode('b', { images: [makeImage('sha256:bb', 'localhost/myapp:dev')] }),
    ];
    assert.deepEqual(run(cluster, 'image==bitnami/redis'), ['a']);
    assert.deepEqual(run(cluster, 'image==myapp'), ['b']);
    assert.deepEqual(run(cluster, 'image==myapp:dev'), ['b']);
  });

  test('docs: label affinity com.example.type==frontend', () => {
    const cluster = [
      makeNode('node-1', {
        containers: [makeContainer('trusting_yonath', { labels: { 'com.example.type': 'frontend' } })],
      }),
      makeNode('node-2', { containers: [makeContainer('other')] }),
      makeNode('node-3'),
    ];
    assert.deepEqual(run(cluster, 'com.example.type==frontend'), ['node-1']);
    assert.deepEqual(run(cluster, 'com.example.type!=frontend'), ['node-2', 'node-3']);
  });

  test('docs: affinity:container!=~redis* avoids nodes with a redis container when it can', () => {
    const cluster = [
      makeNode('a', { containers: [makeContainer('redis1')] }),
      makeNode('b', { containers: [makeContainer('web')] }),
    ];
    assert.deepEqual(run(cluster, 'container!=~redis*'), ['b']);
    const allRedis = [makeNode('a', { containers: [makeContainer('redis1')] })];
    assert.deepEqual(run(allRedis, 'container!=~redis*'), ['a']);
  });

  test('stopped containers count', () => {
    const cluster = [
      makeNode('a', { containers: [makeContainer('web', { running: false })] }),
      makeNode('b'),
    ];
    assert.deepEqual(run(cluster, 'container==web'), ['a']);
  });

  test('explanations say what was looked for', () => {
    const req = makeRequest({ env: ['affinity:container==web'] });
    const p = extractSchedulingFromRequest(req);
    assert.deepEqual(affinityFilter.conditions(req, p), ['affinity:container==web']);
    assert.equal(
      affinityFilter.explain(req, p, nodes),
      'affinity:container==web: no candidate node has a container matching web (checked node-0-name, node-1-name, node-2-name)',
    );
    const ne = makeRequest({ env: ['affinity:image!=image-*'] });
    assert.match(
      affinityFilter.explain(ne, extractSchedulingFromRequest(ne), nodes.slice(0, 2)),
      /every candidate node has an image matching image-\*/,
    );
  });

  test('repositoryOf strips tag and digest, not a registry port', () => {
    assert.equal(repositoryOf('redis:7'), 'redis');
    assert.equal(repositoryOf('localhost:5000/app'), 'localhost:5000/app');
    assert.equal(repositoryOf('localhost:5000/app:1'), 'localhost:5000/app');
    assert.equal(repositoryOf('docker.io/library/redis@sha256:abc'), 'docker.io/library/redis');
  });
});
