import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { defaultFenceMarginMs } from '../../agent/agent-config.ts';
import { fenceRecordPath, readContact, recordFence } from '../../agent/contact-file.ts';
import { FenceGuard, killRestorePolicyContainers } from '../../agent/fence-guard.ts';
import { DEFAULT_FAILURE_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../agent/heartbeat.ts';
import { PodmanClient } from '../../engine/podman-client.ts';
import { formatDuration, parseDuration } from '../../policy/duration.ts';
import { createLogger } from '../../util/log.ts';
import { DEFAULT_PODMAN_SOCKET, DEFAULT_SPOOL_DIR } from './agent.ts';

interface GuardFlags {
  contactFile: string;
  podmanSocket: string;
  every: number;
}

const DEFAULT_FENCE_AFTER_MS =
  DEFAULT_FAILURE_TIMEOUT_MS -
  defaultFenceMarginMs(DEFAULT_FAILURE_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS);

const HELP = `
Why:
  The agent fences its host when it is cut off from every manager: it kills
  the containers labelled lifeboat.reschedule, because the managers restore
  them elsewhere after the failure timeout. An agent that crashed, hangs or
  was stopped fences nothing, and those containers would run twice. The fence
  guard does it for the agent: it watches the file in which the agent records
  each accepted heartbeat, and when that file has not changed for the fence
  deadline the agent wrote into it, the guard kills the same containers, once
  per silence. It needs nothing but the file and this host's Podman socket.

Run it as its own service beside the agent (its own unit, so that stopping or
killing the agent leaves it running; docs/install.md has both units). A host
whose agent never made contact is left alone.

Example:
  lifeboat fence-guard --contact-file /var/lib/lifeboat/spool/last-contact \\
    --podman-socket /run/podman/podman.sock`;

export function registerFenceGuard(program: Command): void {
  program
    .command('fence-guard')
    .description("kill this host's restore-policy containers when its agent stops recording manager contact")
    .option(
      '--contact-file <file>',
      "the agent's contact file (<agent --spool-dir>/last-contact)",
      join(DEFAULT_SPOOL_DIR, 'last-contact'),
    )
    .option('--podman-socket <path>', "this host's Podman REST socket", DEFAULT_PODMAN_SOCKET)
    .addOption(
      new Option('--every <duration>', 'how often the file is looked at')
        .argParser((v: string) => parseDuration(v, '--every'))
        .default(250, formatDuration(250)),
    )
    .addHelpText('after', HELP)
    .action(async (flags: GuardFlags) => {
      await runGuard(flags);
    });
}

async function runGuard(flags: GuardFlags): Promise<void> {
  const log = createLogger('fence-guard');
  const podman = new PodmanClient(flags.podmanSocket);
  const guard = new FenceGuard({
    readContact: () => readContact(flags.contactFile),
    fence: (reason) => killRestorePolicyContainers(podman, log, reason),
    record: (stopped) => recordFence(fenceRecordPath(flags.contactFile), stopped),
    defaultFenceAfterMs: DEFAULT_FENCE_AFTER_MS,
    log,
  });
  log.info('watching the agent', {
    contactFile: flags.contactFile,
    podman: flags.podmanSocket,
    every: formatDuration(flags.every),
  });
  let stopped = false;
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  }).then((signal) => {
    stopped = true;
    log.info('stopping', { signal });
  });
  while (!stopped) {
    await guard.check();
    await Promise.race([stop, new Promise((r) => setTimeout(r, flags.every))]);
  }
}
