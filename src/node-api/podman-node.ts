import type { Readable } from 'node:stream';
import type { PodmanClient } from '../engine/podman-client.ts';
import type { ContainerInspect } from '../engine/types.ts';
import type { NodeClient } from './node-client.ts';

/**
 * The container operations that are the host's Podman as is, written once
 * for both sides of the node API: the agent's NodeService (its Podman
 * socket) and the manager's HttpNodeClient (the agent's Podman proxy).
 */
export abstract class PodmanNode implements Pick<
  NodeClient,
  'start' | 'stop' | 'kill' | 'remove' | 'inspect' | 'logs' | 'wait' | 'imageExists'
> {
  abstract readonly podman: PodmanClient;

  async start(name: string): Promise<void> {
    await this.podman.startContainer(name);
  }

  async stop(name: string, timeoutSeconds = 10): Promise<void> {
    await this.podman.stopContainer(name, timeoutSeconds);
  }

  async kill(name: string, signal = 'SIGKILL'): Promise<void> {
    await this.podman.killContainer(name, signal);
  }

  async remove(name: string, force = false): Promise<void> {
    await this.podman.removeContainer(name, { force, volumes: true });
  }

  async inspect(name: string): Promise<ContainerInspect> {
    return this.podman.inspectContainer(name);
  }

  async logs(
    name: string,
    opts: { follow?: boolean; tail?: number | 'all'; timestamps?: boolean },
  ): Promise<Readable> {
    return this.podman.logs(name, opts);
  }

  async wait(name: string, condition = 'stopped'): Promise<number> {
    return this.podman.wait(name, condition);
  }

  async imageExists(ref: string): Promise<boolean> {
    return this.podman.imageExists(ref);
  }
}
