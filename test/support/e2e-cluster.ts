import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ManagerClient } from '../../src/cli/manager-client.ts';
import {
  clusterDown,
  clusterUp,
  type ClusterUpOptions,
  type ClusterUpResult,
} from '../../src/devcluster/cluster-up.ts';

// A scenario test's own `lifeboat up` cluster and the docker CLI pointed at it.
const run = promisify(execFile);

/** Takes down what an interrupted run left at `root`, brings a cluster up there and opens its lifeboat API. */
export async function freshCluster(
  o: ClusterUpOptions & { root: string },
): Promise<{ up: ClusterUpResult; api: ManagerClient }> {
  await clusterDown(o.root, undefined, o.cluster).catch(() => undefined);
  const up = await clusterUp(o);
  const api = await ManagerClient.open({
    managerUrl: up.managerUrl,
    pkiDir: up.pkiDir,
    dockerHost: up.dockerHost,
  });
  return { up, api };
}

/** The real docker CLI with DOCKER_HOST=tcp://127.0.0.1:PORT: its trimmed stdout. */
export function dockerCli(port: number): {
  docker: (...args: string[]) => Promise<string>;
  dockerFails: (...args: string[]) => Promise<string>;
} {
  const docker = async (...args: string[]): Promise<string> =>
    (
      await run('docker', args, { env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${port}` } })
    ).stdout.trim();
  /** Runs a command that must fail; its stderr. */
  const dockerFails = async (...args: string[]): Promise<string> => {
    try {
      await docker(...args);
    } catch (err) {
      return String((err as { stderr?: string }).stderr ?? err);
    }
    throw new Error(`docker ${args.join(' ')} succeeded`);
  };
  return { docker, dockerFails };
}
