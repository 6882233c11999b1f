import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import { startWebContainer, type TestConfig } from './fixture.ts';

// Runs `up` in its own process for the crash test, starts a host process and a
// root-namespace process, then simply ends: the cluster must outlive it.
const cfg = JSON.parse(process.argv[2] ?? '{}') as TestConfig;
const cluster = new LocalCluster(cfg);
await cluster.up({ nodes: 2 });
const [n1] = cluster.hosts;
if (!n1) throw new Error('no host');
await startWebContainer(n1, 'web', 18080, 'crash');
n1.spawnInHost('/bin/busybox', ['sleep', '600'], { role: 'agent', restartOnBoot: true });
cluster.spawnInRoot('manager', '/bin/busybox', ['sleep', '600']);
process.stdout.write('READY\n');
