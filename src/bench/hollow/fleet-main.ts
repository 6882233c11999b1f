// The hollow fleet's process (see hollow-fleet.ts): hollow hosts, driven over IPC.
import type { CheckpointManifest } from '../../checkpoint/store/index.ts';
import { issueCertificate, loadClusterCa } from '../../pki/index.ts';
import { errorMessage } from '../../util/errors.ts';
import type { FleetAnswer, FleetCommand } from './hollow-fleet.ts';
import { HollowHost } from './hollow-host.ts';

const hosts = new Map<string, HollowHost>();
const checkpoints = new Map<string, CheckpointManifest[]>();
const answer = (a: FleetAnswer): void => void process.send?.(a);
/** Hosts start this many at a time: a whole fleet joining in one instant is not what is measured. */
const START_BATCH = 20;

async function handle(c: FleetCommand): Promise<void> {
  switch (c.type) {
    case 'start': {
      const t0 = performance.now();
      const ca = await loadClusterCa(c.caDir);
      for (let i = 0; i < c.hosts.length; i += START_BATCH) {
        const batch = c.hosts.slice(i, i + START_BATCH);
        const started = await Promise.all(
          batch.map(async (h) => {
            // a real agent certificate of the cluster CA, as `lifeboat cert issue agent NAME` makes
            const cert = await issueCertificate(ca, {
              role: 'agent',
              name: h.name,
              ipAddresses: ['127.0.0.1'],
            });
            return HollowHost.start({
              name: h.name,
              tls: { caPem: cert.caPem, certPem: cert.certPem, keyPem: cert.keyPem },
              managers: c.managers,
              containers: h.containers,
              failureTimeoutMs: c.failureTimeoutMs,
              checkpoints,
            });
          }),
        );
        for (const h of started) hosts.set(h.name, h);
      }
      answer({ type: 'started', ms: performance.now() - t0 });
      return;
    }
    case 'kill': {
      const at = Date.now();
      await Promise.all(c.names.map((n) => hosts.get(n)?.kill()));
      answer({ type: 'killed', at });
      return;
    }
    case 'delays':
      answer({ type: 'delays', values: [...hosts.values()].flatMap((h) => h.takeDelays()) });
      return;
    case 'counts': {
      let checkpointsDone = 0;
      let restores = 0;
      let containers = 0;
      for (const h of hosts.values()) {
        checkpointsDone += h.service.counts.checkpoints;
        restores += h.service.counts.restores;
        if (h.alive) containers += h.service.podman.containers.size;
      }
      answer({ type: 'counts', checkpoints: checkpointsDone, restores, containers });
      return;
    }
    case 'stop':
      await Promise.all([...hosts.values()].map((h) => h.kill()));
      process.exit(0);
  }
}

process.on('message', (c: FleetCommand) => {
  handle(c).catch((err: unknown) => answer({ type: 'error', message: errorMessage(err) }));
});
// the bench went away: so does the fleet
process.on('disconnect', () => process.exit(0));
