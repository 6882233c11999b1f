import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach } from 'node:test';
import { promisify } from 'node:util';
import { ManagerClient } from '../../src/cli/manager-client.ts';
import { clusterLogWarnings, copyClusterLogs } from '../../src/devcluster/cluster-logs.ts';
import {
  clusterDown,
  clusterUp,
  type ClusterUpOptions,
  type ClusterUpResult,
} from '../../src/devcluster/cluster-up.ts';
import type { ClusterEvent } from '../../src/manager/events.ts';
import { waitFor } from './wait.ts';

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

/** Where failed scenario runs keep their cluster's logs (one directory per run). */
export const FAILED_RUN_LOGS = '/var/tmp/lifeboat-test-logs';

/**
 * Call at the suite's top level: after each test it notes a failure, and the
 * function it returns, called in `after` before the cluster goes down, keeps
 * the cluster's logs in FAILED_RUN_LOGS and prints their last warnings and
 * errors (a CI log then shows why, not only that, a test failed).
 */
export function keepLogsOnFailure(root: string, label: string): () => void {
  const failed: string[] = [];
  afterEach((t) => {
    // TestContext.passed (Node 20.20; @types/node 20 does not declare it yet)
    if ((t as { passed?: boolean }).passed === false) failed.push(t.name);
  });
  return () => {
    if (failed.length === 0) return;
    const dest = join(FAILED_RUN_LOGS, `${label}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    try {
      mkdirSync(dest, { recursive: true, mode: 0o700 });
      copyClusterLogs(root, dest);
      process.stderr.write(
        `\n${label}: ${failed.length} test(s) failed (${failed.join('; ')}); the cluster's logs are kept in ${dest}\n` +
          `${clusterLogWarnings(root)}\n`,
      );
    } catch (err) {
      process.stderr.write(`${label}: could not keep the cluster's logs: ${String(err)}\n`);
    }
  };
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

/**
 * A checkpoint of `container` whose dump STARTED after `after` (ms since the
 * epoch): only such a one holds what was written before `after`. One that was
 * already running, or one merely stored later, may not.
 */
export function checkpointStartedAfter(
  api: ManagerClient,
  container: string,
  after: number,
  timeoutMs = 20_000,
): Promise<ClusterEvent> {
  return waitFor(`a checkpoint of ${container} started after the writes`, timeoutMs, async () => {
    const evs = await api.request<ClusterEvent[]>(
      'GET',
      `/lifeboat/v1/events?container=${encodeURIComponent(container)}`,
    );
    return evs.find(
      (e) => e.type === 'checkpoint.done' && Date.parse(String(e.fields?.['startedAt'])) > after,
    );
  });
}
