import { PodmanDockerBackend } from '../../src/api/docker/podman-backend.ts';
import { startDockerApiServer } from '../../src/api/docker/server.ts';
import type { RunningServer } from '../../src/api/http/serve.ts';
import { createLogger, type Logger } from '../../src/util/log.ts';
import { cleanupTestNetwork, startTestHost, TEST_ROOT, type TestHost } from './podman-host.ts';

/**
 * lifeboat's Docker API over one real test host (its own Podman): what the
 * tests of real clients talk to. `close()` removes every container, stops
 * the API and the host.
 */
export interface DockerApiHost {
  host: TestHost;
  server: RunningServer;
  close(): Promise<void>;
}

export async function startDockerApiHost(
  name: string,
  index: number,
  opts: { logger?: Logger; checkpointDir?: string } = {},
): Promise<DockerApiHost> {
  const host = await startTestHost(name, index);
  const logger = opts.logger ?? createLogger('docker-api', () => undefined);
  const backend = new PodmanDockerBackend({
    podman: host.podman,
    cgroupParent: host.service.cgroupParent,
    checkpointDir: opts.checkpointDir ?? `${TEST_ROOT}/${name}-checkpoints`,
    node: { name: host.name, address: host.address },
    logger,
  });
  const server = await startDockerApiServer({ backend, logger });
  return {
    host,
    server,
    async close() {
      for (const c of await host.podman.listContainers({ all: true }).catch(() => []))
        await host.podman.removeContainerIfExists(c.Id).catch(() => false);
      await server.close();
      await host.destroy();
      await cleanupTestNetwork();
    },
  };
}
