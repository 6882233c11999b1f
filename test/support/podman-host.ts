import { createReadStream, mkdirSync } from 'node:fs';
import { pidsIn, removeCgroup } from '../../src/devcluster/cgroups.ts';
import { terminate } from '../../src/devcluster/processes.ts';
import { removeTree } from '../../src/devcluster/remove-tree.ts';
import { HostSandbox } from '../../src/devcluster/host-sandbox.ts';
import { removeBridge } from '../../src/devcluster/network.ts';
import { PodmanService } from '../../src/engine/podman-service.ts';
import type { PodmanClient } from '../../src/engine/podman-client.ts';
import { buildTestImages, type BuiltImage } from '../../src/images/test-images.ts';

/**
 * A real, isolated Podman host for integration tests: a host sandbox (own
 * network and mount namespaces on a test bridge) with its own Podman service.
 * Everything is removed by `destroy()`.
 */
export const TEST_ROOT = process.env['LIFEBOAT_TEST_ROOT'] ?? '/var/tmp/lifeboat-test';
const TEST_BRIDGE = { name: 'lbtest0', gatewayCidr: '10.98.0.1/24' };

export interface TestHost {
  name: string;
  address: string;
  sandbox: HostSandbox;
  service: PodmanService;
  podman: PodmanClient;
  destroy(): Promise<void>;
}

let images: Promise<BuiltImage[]> | undefined;
export function testImages(): Promise<BuiltImage[]> {
  images ??= buildTestImages(`${TEST_ROOT}/images`);
  return images;
}

export async function startTestHost(
  name: string,
  index: number,
  opts: { loadImages?: boolean } = {},
): Promise<TestHost> {
  const dir = `${TEST_ROOT}/${name}`;
  await removeTree(dir);
  mkdirSync(dir, { recursive: true });
  const sandbox = new HostSandbox({
    name,
    dir,
    addressCidr: `10.98.0.${10 + index}/24`,
    bridge: TEST_BRIDGE,
  });
  await sandbox.destroy();
  await sandbox.create();
  const service = new PodmanService({
    dir: `${dir}/podman`,
    nsenter: sandbox.nsenterArgs(),
    cgroupParent: `/lifeboat_${name}`,
  });
  let podman: PodmanClient;
  try {
    podman = await service.start();
    if (opts.loadImages !== false) {
      for (const img of await testImages()) await podman.loadImage(createReadStream(img.path));
    }
  } catch (err) {
    await service.stop();
    await sandbox.destroy();
    throw err;
  }
  return {
    name,
    address: sandbox.address,
    sandbox,
    service,
    podman,
    async destroy() {
      await service.shutdown();
      // Podman keeps each exec session's conmon for 5 minutes after it ended (containers.conf
      // exit_command_delay), and they outlive the service: the host goes down with all of them
      await terminate(pidsIn(`/lifeboat_${name}`), 2000);
      await sandbox.destroy();
      for (let i = 0; i < 50 && removeCgroup(`/lifeboat_${name}`).length > 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      await removeTree(dir);
    },
  };
}

/** Removes the test bridge once no test host is attached to it (end of each test file). */
export async function cleanupTestNetwork(): Promise<void> {
  const { readdirSync, existsSync } = await import('node:fs');
  const brif = `/sys/class/net/${TEST_BRIDGE.name}/brif`;
  if (existsSync(brif) && readdirSync(brif).length === 0) await removeBridge(TEST_BRIDGE);
}
