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

  // Stopping, killing and removing go by the ID of the container with that
  // exact name: Podman would take a missing name for an ID prefix and act on a
  // stranger (inspectNamed). Copies are removed from hosts that may lack them.

  async stop(name: string, timeoutSeconds = 10): Promise<void> {
    await this.podman.stopContainer((await this.podman.inspectNamed(name)).Id, timeoutSeconds);
  }

  async kill(name: string, signal = 'SIGKILL'): Promise<void> {
    await this.podman.killContainer((await this.podman.inspectNamed(name)).Id, signal);
  }

  async remove(name: string, force = false): Promise<void> {
    await this.podman.removeContainer((await this.podman.inspectNamed(name)).Id, { force, volumes: true });
  }

  async inspect(name: string): Promise<ContainerInspect> {
    return this.podman.inspectNamed(name);
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
