import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DockerContainerCreateBody } from '../api/docker/types.ts';
import { withDefaultNetwork } from './default-network.ts';

const checkpointed = { Image: 'redis', Labels: { 'lifeboat.reschedule': 'checkpoint' } };

describe('default network', () => {
  test('a container restored from its checkpoints joins the cluster network when it names none', () => {
    for (const mode of [undefined, '', 'default']) {
      const r = withDefaultNetwork({ ...checkpointed, HostConfig: { NetworkMode: mode } }, true);
      assert.equal(r.body.HostConfig?.NetworkMode, 'lifeboat');
      assert.deepEqual(r.body.NetworkingConfig, { EndpointsConfig: { lifeboat: {} } });
      assert.match(r.why ?? '', /restored from its checkpoints.*--network bridge/);
    }
  });

  test('a checkpoint ticker, given as a label or as an env entry, is reason enough', () => {
    const label = withDefaultNetwork(
      { Image: 'redis', Labels: { 'lifeboat.checkpoint.interval': '10s' } },
      true,
    );
    assert.match(label.why ?? '', /checkpoint ticker/);
    const env = withDefaultNetwork(
      { Image: 'redis', Env: ['lifeboat.checkpoint.interval=10s', 'A=1'] },
      true,
    );
    assert.equal(env.body.HostConfig?.NetworkMode, 'lifeboat');
  });

  test('everything else is left as asked', () => {
    const cases: [DockerContainerCreateBody, boolean][] = [
      // no checkpoint policy
      [{ Image: 'redis', Labels: { 'lifeboat.reschedule': 'on-node-failure' } }, true],
      [{ Image: 'redis' }, true],
      // the user chose: the host's bridge, another network, none, host
      ...['bridge', 'podman', 'mynet', 'none', 'host', 'container:x'].map(
        (m): [DockerContainerCreateBody, boolean] => [
          { ...checkpointed, HostConfig: { NetworkMode: m } },
          true,
        ],
      ),
      [{ ...checkpointed, NetworkingConfig: { EndpointsConfig: { mynet: {} } } }, true],
      [{ ...checkpointed, NetworkDisabled: true }, true],
      // legacy links live on the host's default network
      [{ ...checkpointed, HostConfig: { Links: ['db:db'] } }, true],
      // no cluster network on this endpoint
      [checkpointed, false],
    ];
    for (const [body, available] of cases) {
      const r = withDefaultNetwork(body, available);
      assert.equal(r.body, body, JSON.stringify(body));
      assert.equal(r.why, undefined);
    }
  });
});
