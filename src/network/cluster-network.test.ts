import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterAddressOf, holdGateway, namesFor, routesFor } from './cluster-network.ts';
import { linesOf, ourLines } from './host-names.ts';
import { assignable, contains, nthAddress, parseSubnet } from './subnet.ts';
import { HostRoutes, type Run } from './host-routes.ts';
import { createLogger } from '../util/log.ts';

test('subnets: parsed, host bits refused, the gateway and broadcast never handed out', () => {
  const s = parseSubnet('10.210.0.0/16');
  assert.equal(s.gateway, '10.210.0.1');
  assert.equal(s.size, 65533);
  assert.equal(nthAddress(s, 0), '10.210.0.2');
  assert.equal(nthAddress(s, 254), '10.210.1.0');
  assert.ok(contains(s, '10.210.255.255'));
  assert.ok(!assignable(s, '10.210.255.255'), 'broadcast');
  assert.ok(!assignable(s, '10.210.0.1'), 'gateway');
  assert.ok(!assignable(s, '10.211.0.5'));
  assert.ok(assignable(s, '10.210.7.9'));
  assert.throws(() => parseSubnet('10.210.0.1/16'), /has host bits set/);
  assert.throws(() => parseSubnet('10.210.0.0/30'), /from \/8 to \/28/);
  assert.throws(() => parseSubnet('fd00::/64'), /not an IPv4 CIDR/);
});

test('the address of a container on the cluster network comes from its spec', () => {
  assert.equal(
    clusterAddressOf({ networks: { lifeboat: { staticIps: ['fd00::1', '10.210.0.9'] } } }),
    '10.210.0.9',
  );
  assert.equal(clusterAddressOf({ networks: { app: { staticIps: ['10.89.0.2'] } } }), undefined);
  assert.equal(clusterAddressOf({}), undefined);
});

test("a host routes every other host's containers, not its own nor one on its way to it; outside, all", () => {
  const hosts = new Map([
    ['a', '10.99.0.11'],
    ['b', '10.99.0.12'],
    ['c', '10.99.0.13'],
  ]);
  const containers = [
    { node: 'a', address: '10.210.0.2' },
    { node: 'b', address: '10.210.0.3' },
    { node: 'a', address: '10.210.0.4', movingTo: 'c' },
    { node: 'gone', address: '10.210.0.5' },
  ];
  assert.deepEqual(routesFor(containers, hosts, 'a'), [['10.210.0.3', '10.99.0.12']]);
  assert.deepEqual(routesFor(containers, hosts, 'c'), [
    ['10.210.0.2', '10.99.0.11'],
    ['10.210.0.3', '10.99.0.12'],
  ]);
  assert.deepEqual(routesFor(containers, hosts, undefined), [
    ['10.210.0.2', '10.99.0.11'],
    ['10.210.0.3', '10.99.0.12'],
    ['10.210.0.4', '10.99.0.11'],
  ]);
});

test('routes are reconciled with ip: missing ones replaced, stale ones deleted, claimed addresses left out', async () => {
  const calls: string[] = [];
  let table = [
    { dst: '10.210.0.2', gateway: '10.99.0.11' },
    { dst: '10.210.0.9', gateway: '10.99.0.12' },
  ];
  const run: Run = async (cmd, args) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    if (args.includes('show')) return JSON.stringify(table);
    return '';
  };
  let now = 0;
  const r = new HostRoutes(createLogger('test'), run, () => now);
  await r.claim('10.210.0.3');
  const got = await r.reconcile([
    ['10.210.0.2', '10.99.0.13'],
    ['10.210.0.3', '10.99.0.12'],
  ]);
  assert.deepEqual(got, { added: 1, removed: 1 });
  assert.deepEqual(calls, [
    'ip route del 10.210.0.3/32 proto 177',
    'ip -j -4 route show proto 177',
    'ip route del 10.210.0.9/32 proto 177',
    'ip route replace 10.210.0.2/32 via 10.99.0.13 proto 177',
  ]);
  // a plan that routes the claimed address nowhere has caught up with the move: the claim ends, and when
  // the container leaves again, the next plan's route to it is taken at once
  table = [{ dst: '10.210.0.2', gateway: '10.99.0.13' }];
  await r.reconcile([['10.210.0.2', '10.99.0.13']]);
  calls.length = 0;
  await r.reconcile([
    ['10.210.0.2', '10.99.0.13'],
    ['10.210.0.3', '10.99.0.11'],
  ]);
  assert.deepEqual(calls.slice(1), ['ip route replace 10.210.0.3/32 via 10.99.0.11 proto 177']);
  // a claim the plan never catches up with (the move failed) ends after 10 s
  table = [];
  await r.claim('10.210.0.4');
  calls.length = 0;
  await r.reconcile([['10.210.0.4', '10.99.0.12']]);
  assert.deepEqual(calls.slice(1), []);
  now = 10_000;
  await r.reconcile([['10.210.0.4', '10.99.0.12']]);
  assert.deepEqual(calls.slice(2), ['ip route replace 10.210.0.4/32 via 10.99.0.12 proto 177']);
});

test("a move's target holds an address's packets behind a next hop nobody answers, then hands them to the container", async () => {
  assert.equal(holdGateway('10.210.3.7'), '169.254.4.7');
  assert.equal(holdGateway('10.210.255.255'), '169.254.2.255', 'never 169.254.255.x or 169.254.0.x');
  const calls: string[] = [];
  let bridge = true;
  const run: Run = async (cmd, args) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    if (!bridge && (args.includes('onlink') || args[0] === 'link'))
      throw new Error('Cannot find device "lbc0"');
    return '';
  };
  const r = new HostRoutes(
    createLogger('test', () => undefined),
    run,
  );
  assert.equal(await r.hold('10.210.0.5'), true);
  await r.release('10.210.0.5', '02:42:0a:d2:00:05');
  assert.deepEqual(calls, [
    'ip link show lbc0',
    'ip neigh del 169.254.1.5 dev lbc0',
    'ip route replace 10.210.0.5/32 via 169.254.1.5 dev lbc0 onlink proto 178',
    // a valid entry for the next hop sends its queue out, to the restored container's MAC
    'ip neigh replace 169.254.1.5 lladdr 02:42:0a:d2:00:05 dev lbc0 nud reachable',
    'ip route del 10.210.0.5/32 proto 178',
    'ip neigh del 169.254.1.5 dev lbc0',
  ]);
  // no bridge, and none can be made (no plan with the network's gateway yet): nothing is held
  bridge = false;
  assert.equal(await r.hold('10.210.0.6'), false);
});

test('a hold left behind by a move whose manager died goes after a minute', async () => {
  const calls: string[] = [];
  const run: Run = async (cmd, args) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    return args.includes('show') ? '[]' : '';
  };
  let now = 0;
  const r = new HostRoutes(
    createLogger('test', () => undefined),
    run,
    () => now,
  );
  assert.equal(await r.hold('10.210.0.7'), true);
  calls.length = 0;
  now = 59_000;
  await r.reconcile([]);
  assert.deepEqual(calls, ['ip -j -4 route show proto 177'], 'a move may still be under way');
  now = 60_000;
  await r.reconcile([]);
  assert.deepEqual(calls.slice(1, 3), [
    'ip route del 10.210.0.7/32 proto 178',
    'ip neigh del 169.254.1.7 dev lbc0',
  ]);
});

test("a host's DNS gets the other hosts' containers by name and alias, marked as lifeboat's", () => {
  const containers = [
    { node: 'a', address: '10.210.0.2', names: ['kv', 'cache'] },
    { node: 'b', address: '10.210.0.3', names: ['peer'] },
    { node: 'b', address: '10.210.0.4', names: ['web'], movingTo: 'a' },
  ];
  assert.deepEqual(namesFor(containers, 'a'), [['10.210.0.3', 'peer']]);
  assert.deepEqual(namesFor(containers, 'b'), [['10.210.0.2', 'kv', 'cache']]);
  const mine = ourLines(namesFor(containers, 'b'));
  assert.deepEqual(mine, ['10.210.0.2\tkv cache # lifeboat']);
  // Podman's own lines (address, name, container ID) are not ours
  assert.deepEqual(linesOf(`10.210.0.3\tpeer\tc330a1ca869d\n${mine[0]}\n`), mine);
});

test("a manager's routes stay in its own subnet: another cluster's on the same machine are left alone", async () => {
  const calls: string[] = [];
  const run: Run = async (cmd, args) => {
    calls.push(`${cmd} ${args.join(' ')}`);
    if (args.includes('show'))
      return JSON.stringify([
        { dst: '10.199.0.2', gateway: '10.99.0.11' },
        { dst: '10.181.0.7', gateway: '10.81.0.12' },
      ]);
    return '';
  };
  const r = new HostRoutes(
    createLogger('test'),
    run,
    () => 0,
    () => parseSubnet('10.181.0.0/16'),
  );
  await r.reconcile([]);
  assert.deepEqual(calls.slice(1), ['ip route del 10.181.0.7/32 proto 177']);
});
