import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Docker from 'dockerode';
import type { RunningServer } from '../../src/api/http/serve.ts';
import { demux } from '../../src/engine/demux-stream.ts';
import { createLogger } from '../../src/util/log.ts';
import { RedisClient } from '../support/redis-client.ts';
import { startDockerApiHost, type DockerApiHost } from '../support/docker-api-host.ts';
import { TEST_ROOT, type TestHost } from '../support/podman-host.ts';
import { waitFor } from '../support/wait.ts';

// The real docker CLI and dockerode against lifeboat's Docker API, served
// over one real Podman host (own namespaces, runc, CRIU).
// the docker CLI on PATH (provisioning installs Debian's when there is none)
const DOCKER = 'docker';
const COUNTER = 'i=0; while true; do i=$((i+1)); echo $i; sleep 0.1; done';
const CHECKPOINTS = `${TEST_ROOT}/tdk-checkpoints`;

let api: DockerApiHost | undefined;
let host: TestHost;
let server: RunningServer;
let configDir: string;
const serverLog: string[] = [];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function docker(args: string[], input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DOCKER_HOST: `tcp://127.0.0.1:${server.port}`,
      DOCKER_CONFIG: configDir,
      DOCKER_CLI_HINTS: 'false',
    };
    for (const k of ['DOCKER_CONTEXT', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_API_VERSION'])
      delete env[k];
    const p = spawn(DOCKER, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

async function ok(args: string[]): Promise<string> {
  const r = await docker(args);
  assert.equal(r.code, 0, `docker ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

async function counterValues(name: string): Promise<number[]> {
  return (await ok(['logs', name]))
    .split('\n')
    .filter((l) => /^\d+$/.test(l))
    .map(Number);
}

describe('docker API: the real docker CLI and dockerode over a real Podman host', () => {
  before(async () => {
    assert.ok(
      spawnSync(DOCKER, ['--version']).status === 0,
      'the docker CLI is expected on PATH (scripts/provision.sh installs it)',
    );
    rmSync(CHECKPOINTS, { recursive: true, force: true });
    api = await startDockerApiHost('tdk', 21, {
      logger: createLogger('docker-api', (l) => serverLog.push(l)),
      checkpointDir: CHECKPOINTS,
    });
    ({ host, server } = api);
    configDir = mkdtempSync(join(tmpdir(), 'lifeboat-docker-config-'));
  });

  after(async () => {
    await api?.close();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
    rmSync(CHECKPOINTS, { recursive: true, force: true });
  });

  test('docker version and info show lifeboat, API 1.47, experimental, the node list', async () => {
    const v = await ok(['version']);
    const serverPart = v.slice(v.indexOf('Server:'));
    assert.match(serverPart, /Server: lifeboat \d+\.\d+\.\d+/);
    assert.match(serverPart, /API version:\s+1\.47 \(minimum version 1\.24\)/);
    assert.match(serverPart, /Experimental:\s+true/);
    assert.match(serverPart, /Podman Engine/);
    const info = await ok(['info']);
    assert.match(info, /Nodes: 1/);
    assert.match(info, new RegExp(`tdk: ${host.address.replace(/\./g, '\\.')}`));
    assert.match(await ok(['images']), /localhost\/lifeboat\/busybox\s+latest/);
  });

  test('run -d, ps, inspect, logs, stop, start, rm -f', async () => {
    const id = (
      await ok(['run', '-d', '--name', 'dk-life', '-l', 'suite=docker-cli', 'busybox', 'sh', '-c', COUNTER])
    ).trim();
    assert.match(id, /^[0-9a-f]{64}$/);

    const ps = await ok(['ps']);
    assert.match(ps, /dk-life/);
    assert.match(ps, /Up /);
    assert.equal(
      (await ok(['ps', '--filter', 'label=suite=docker-cli', '--format', '{{.Names}}'])).trim(),
      'dk-life',
    );

    const [inspect] = JSON.parse(await ok(['inspect', 'dk-life'])) as [Record<string, never>];
    const c = inspect as unknown as {
      Id: string;
      Name: string;
      State: { Status: string; Running: boolean };
      Config: { Tty: boolean; Cmd: string[]; Labels: Record<string, string> };
      HostConfig: { CgroupParent: string };
    };
    assert.equal(c.Id, id);
    assert.equal(c.Name, '/dk-life');
    assert.equal(c.State.Status, 'running');
    assert.equal(c.State.Running, true);
    assert.equal(c.Config.Tty, false);
    assert.deepEqual(c.Config.Cmd, ['sh', '-c', COUNTER]);
    assert.equal(c.Config.Labels['suite'], 'docker-cli');
    assert.equal(
      (await ok(['inspect', '--format', '{{.Id}}', id.slice(0, 12)])).trim(),
      id,
      'ID prefix resolves',
    );

    // a line every 0.1 s when idle, far slower on a loaded machine: wait for the lines, not for a time
    const values = await waitFor('three counter lines', 15_000, async () => {
      const v = await counterValues('dk-life');
      return v.length >= 3 ? v : undefined;
    });
    assert.ok(values.length >= 3, `logs carry the output (got ${values.length} lines)`);
    assert.deepEqual(
      values,
      values.map((_, i) => i + 1),
      'logs are the counter from 1, in order, stdout only',
    );

    await ok(['stop', '-t', '1', 'dk-life']);
    assert.match(
      await ok(['ps', '-a', '--filter', 'name=dk-life', '--format', '{{.State}} {{.Status}}']),
      /^exited Exited \(/,
    );
    assert.doesNotMatch(await ok(['ps']), /dk-life/);
    await ok(['start', 'dk-life']);
    assert.equal((await ok(['inspect', '--format', '{{.State.Running}}', 'dk-life'])).trim(), 'true');

    await ok(['rm', '-f', 'dk-life']);
    assert.doesNotMatch(await ok(['ps', '-a']), /dk-life/);
  });

  test('run without -d attaches: output on both streams and the exit code come through', async () => {
    const r = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    // --rm: Podman removes the container as it exits; the exit code still comes through
    const removed = await docker(['run', '--rm', 'busybox', 'sh', '-c', 'sleep 1; exit 5']);
    assert.equal(removed.code, 5, removed.stderr);
    // it lives long enough for the wait to arrive first: one already removed is a 404, with dockerd too
    const detached = (await ok(['run', '-d', '--rm', 'busybox', 'sh', '-c', 'sleep 3; exit 6'])).trim();
    assert.equal((await ok(['wait', detached])).trim(), '6');
    const build = await docker(['build', '-t', 'x', '-'], 'FROM busybox\n');
    assert.notEqual(build.code, 0);
    assert.match(build.stderr, /building images is not supported by lifeboat/);
    const cat = await docker(['run', '-i', '--rm', 'busybox', 'cat'], 'through stdin\n');
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'through stdin\n');
  });

  test('exec: output, exit code, stdin, environment, user, workdir, detached, a TTY, exec inspect', async () => {
    await ok(['run', '-d', '--name', 'dk-exec', 'busybox', 'sleep', '600']);
    assert.equal(await ok(['exec', 'dk-exec', 'echo', 'hello from exec']), 'hello from exec\n');
    const failed = await docker(['exec', 'dk-exec', 'sh', '-c', 'echo oops >&2; exit 7']);
    assert.equal(failed.code, 7);
    assert.equal(failed.stderr, 'oops\n');
    assert.equal(await ok(['exec', '-i', 'dk-exec', 'sh', '-c', 'cat; echo done']), 'done\n');
    const piped = await docker(['exec', '-i', 'dk-exec', 'sh', '-c', 'cat; echo done'], 'via stdin\n');
    assert.equal(piped.stdout, 'via stdin\ndone\n', piped.stderr);
    assert.equal(
      await ok([
        'exec',
        '-e',
        'X=1',
        '-u',
        '1234',
        '-w',
        '/tmp',
        'dk-exec',
        'sh',
        '-c',
        'echo $X $(id -u) $(pwd)',
      ]),
      '1 1234 /tmp\n',
    );
    await ok(['exec', '-d', 'dk-exec', 'sh', '-c', 'echo detached > /tmp/d']);
    await waitFor('the detached exec', 10_000, async () =>
      (await docker(['exec', 'dk-exec', 'cat', '/tmp/d'])).stdout === 'detached\n' ? true : undefined,
    );
    const tty = await docker(['exec', '-t', 'dk-exec', 'sh', '-c', 'test -t 1 && echo tty']);
    assert.match(tty.stdout, /tty/);
    const missing = await docker(['exec', 'dk-nope', 'true']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /No such container: dk-nope/);
    await ok(['stop', '-t', '0', 'dk-exec']);
    const stopped = await docker(['exec', 'dk-exec', 'true']);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /is not running/);
    await ok(['rm', '-f', 'dk-exec']);
  });

  test('the daily commands: pause, top, stats, diff, cp, rename, update, prune, tag, history, rmi, df, networks, volumes', async () => {
    const started = Date.now();
    await ok(['run', '-d', '--name', 'dk-daily', 'busybox', 'sh', '-c', 'echo hi > /tmp/made; sleep 600']);
    assert.equal(
      (await ok(['inspect', '--format', '{{.Config.Image}}', 'dk-daily'])).trim(),
      'busybox',
      'the image as asked for',
    );
    await ok(['pause', 'dk-daily']);
    assert.equal((await ok(['inspect', '--format', '{{.State.Status}}', 'dk-daily'])).trim(), 'paused');
    assert.match((await docker(['pause', 'dk-daily'])).stderr, /already paused/);
    await ok(['unpause', 'dk-daily']);
    assert.equal((await ok(['inspect', '--format', '{{.State.Status}}', 'dk-daily'])).trim(), 'running');
    assert.match(await ok(['top', 'dk-daily']), /sleep 600/);
    const stats = await ok([
      'stats',
      '--no-stream',
      '--format',
      '{{.Name}} {{.ID}} {{.MemUsage}}',
      'dk-daily',
    ]);
    assert.match(stats, /^dk-daily [0-9a-f]{12} \d/, stats);
    await waitFor('the file the container made', 10_000, async () =>
      /A \/tmp\/made/.test(await ok(['diff', 'dk-daily'])) ? true : undefined,
    );
    const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cp-'));
    try {
      await ok(['cp', 'dk-daily:/tmp/made', `${dir}/made`]);
      assert.equal(readFileSync(`${dir}/made`, 'utf8'), 'hi\n');
      writeFileSync(`${dir}/in`, 'copied in\n');
      await ok(['cp', `${dir}/in`, 'dk-daily:/tmp/in']);
      assert.equal(await ok(['exec', 'dk-daily', 'cat', '/tmp/in']), 'copied in\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await ok(['rename', 'dk-daily', 'dk-renamed']);
    assert.match(await ok(['ps', '--format', '{{.Names}}']), /dk-renamed/);
    await ok(['update', '--memory', '64m', '--memory-swap', '128m', '--cpu-shares', '512', 'dk-renamed']);
    // the live cgroup's limit, as the container's own processes meet it
    assert.equal(
      (await ok(['exec', 'dk-renamed', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes'])).trim(),
      String(64 * 1024 * 1024),
    );
    assert.match(
      (await docker(['update', '--restart', 'always', 'dk-renamed'])).stderr,
      /RestartPolicy is not supported by update/,
    );
    await ok(['rm', '-f', 'dk-renamed']);

    await ok(['create', '--name', 'dk-stopped', 'busybox', 'true']);
    assert.match(await ok(['container', 'prune', '-f']), /Deleted Containers:[\s\S]*[0-9a-f]{64}/);
    assert.doesNotMatch(await ok(['ps', '-a', '--format', '{{.Names}}']), /dk-stopped/);

    await ok(['tag', 'busybox', 'localhost/mine/box:v1']);
    assert.match(await ok(['images']), /localhost\/mine\/box\s+v1/);
    assert.match(await ok(['history', 'localhost/mine/box:v1']), /IMAGE\s+CREATED/);
    assert.match(await ok(['rmi', 'localhost/mine/box:v1']), /Untagged: localhost\/mine\/box:v1/);
    assert.match((await docker(['rmi', 'localhost/mine/nothing'])).stderr, /No such image/);
    assert.match(await ok(['system', 'df']), /Images\s+\d+\s+\d+/);
    assert.match(await ok(['network', 'ls']), /bridge\s+bridge\s+local/);
    assert.match(await ok(['network', 'inspect', 'bridge']), /"Subnet"/);
    assert.match(await ok(['volume', 'ls']), /DRIVER\s+VOLUME NAME/);
    assert.equal((await ok(['image', 'inspect', '--format', '{{.Os}}', 'busybox'])).trim(), 'linux');
    // Podman's events of this host, in Docker's shape
    const events = await ok([
      'events',
      '--since',
      String(Math.floor(started / 1000) - 1),
      '--until',
      String(Math.ceil(Date.now() / 1000)),
      '--filter',
      'container=dk-renamed',
      '--format',
      '{{.Type}} {{.Action}}',
    ]);
    assert.match(events, /container (pause|unpause|died|remove|cleanup)/, events);
  });

  test('checkpoint create / ls / start --checkpoint / rm: the counter continues from its value', async () => {
    await ok(['run', '-d', '--name', 'dk-ckpt', 'busybox', 'sh', '-c', COUNTER]);
    // the lines the assertion below counts, however slowly a loaded machine prints them
    await waitFor('8 counter lines', 30_000, async () =>
      (await counterValues('dk-ckpt')).length >= 8 ? true : undefined,
    );
    await ok(['checkpoint', 'create', 'dk-ckpt', 'cp1']);
    assert.ok(existsSync(`${CHECKPOINTS}/dk-ckpt/cp1.tar`), 'one archive file per checkpoint');
    assert.match(await ok(['checkpoint', 'ls', 'dk-ckpt']), /CHECKPOINT NAME\s+cp1/);
    assert.equal((await ok(['inspect', '--format', '{{.State.Status}}', 'dk-ckpt'])).trim(), 'exited');
    const atCheckpoint = Math.max(...(await counterValues('dk-ckpt')));
    assert.ok(atCheckpoint >= 8, `the counter ran before the checkpoint (${atCheckpoint})`);

    await ok(['start', '--checkpoint', 'cp1', 'dk-ckpt']);
    const values = await waitFor('4 lines past the checkpoint', 30_000, async () => {
      const v = await counterValues('dk-ckpt');
      return Math.max(...v) > atCheckpoint + 3 ? v : undefined;
    });
    assert.equal((await ok(['inspect', '--format', '{{.State.Running}}', 'dk-ckpt'])).trim(), 'true');
    // A fresh start would count 1, 2, ... again; the restored process goes on from its memory.
    assert.ok(values.includes(atCheckpoint + 1), `${atCheckpoint + 1} follows ${atCheckpoint}`);
    assert.ok(Math.max(...values) > atCheckpoint + 3, 'and it keeps counting');
    for (let i = 1; i < values.length; i++)
      assert.ok(values[i]! > values[i - 1]!, `no reset: ${values[i - 1]} then ${values[i]}`);

    const dup = await docker(['checkpoint', 'create', '--leave-running', 'dk-ckpt', 'cp1']);
    assert.equal(dup.code, 1);
    assert.match(dup.stderr, /checkpoint cp1 already exists for container dk-ckpt/);
    await ok(['checkpoint', 'rm', 'dk-ckpt', 'cp1']);
    assert.doesNotMatch(await ok(['checkpoint', 'ls', 'dk-ckpt']), /cp1/);
    assert.ok(!existsSync(`${CHECKPOINTS}/dk-ckpt/cp1.tar`));
    await ok(['rm', '-f', 'dk-ckpt']);
  });

  test('redis keeps its data and published port through a checkpoint made with docker', async () => {
    await ok(['run', '-d', '--name', 'dk-redis', '-p', '6379:6379', 'localhost/lifeboat/redis:latest']);
    const client = await RedisClient.waitReady(host.address, 6379);
    assert.equal(await client.command(['SET', 'greeting', 'survives']), 'OK');
    // the client stays connected through the dump (tcp-established by default)
    await ok(['checkpoint', 'create', 'dk-redis', 'r1']);
    client.close();
    await ok(['start', '--checkpoint', 'r1', 'dk-redis']);
    const again = await RedisClient.waitReady(host.address, 6379);
    assert.equal(await again.command(['GET', 'greeting']), 'survives');
    again.close();
    assert.match(await ok(['ps', '--filter', 'name=dk-redis']), /0\.0\.0\.0:6379->6379\/tcp/);
    await ok(['rm', '-f', 'dk-redis']);
  });

  test('stop --signal and restart --signal send that signal; --platform is honoured or refused by name', async () => {
    // USR1 ends it with 7; the stop signal (TERM) would not: PID 1 ignores it, SIGKILL would give 137
    const trap = 'trap "echo got USR1; exit 7" USR1; echo ready; while true; do sleep 0.1; done';
    // a signal that comes before the trap is set is ignored by PID 1
    const trapSet = (times: number): Promise<true> =>
      waitFor(`the trap, set ${times} time(s)`, 10_000, async () =>
        ((await ok(['logs', 'dk-sig'])).match(/^ready$/gm)?.length ?? 0) >= times ? true : undefined,
      );
    await ok(['run', '-d', '--name', 'dk-sig', 'busybox', 'sh', '-c', trap]);
    await trapSet(1);
    await ok(['stop', '--signal', 'USR1', '-t', '5', 'dk-sig']);
    assert.equal((await ok(['inspect', '--format', '{{.State.ExitCode}}', 'dk-sig'])).trim(), '7');
    await ok(['start', 'dk-sig']);
    await trapSet(2);
    await ok(['restart', '--signal', 'SIGUSR1', '-t', '5', 'dk-sig']);
    assert.equal((await ok(['inspect', '--format', '{{.State.Running}}', 'dk-sig'])).trim(), 'true');
    assert.equal((await ok(['logs', 'dk-sig'])).match(/got USR1/g)?.length, 2, 'both stops by USR1');
    await ok(['rm', '-f', 'dk-sig']);

    await ok(['create', '--platform', 'linux/amd64', '--name', 'dk-plat', 'busybox', 'true']);
    await ok(['rm', 'dk-plat']);
    const arm = await docker(['create', '--pull', 'never', '--platform', 'linux/arm64', 'busybox', 'true']);
    assert.equal(arm.code, 1);
    assert.match(arm.stderr, /platform linux\/arm64 \(aarch64\): this host is x86_64/);
    const win = await docker(['create', '--pull', 'never', '--platform', 'windows/amd64', 'busybox', 'true']);
    assert.match(win.stderr, /lifeboat's hosts run Linux containers only/);
  });

  test('ps --size and inspect --size report what the container wrote; logs --details is refused by name', async () => {
    await ok([
      'run',
      '-d',
      '--name',
      'dk-size',
      'busybox',
      'sh',
      '-c',
      'dd if=/dev/zero of=/big bs=1k count=300; sleep 600',
    ]);
    const rw = await waitFor('the 300 kB file', 10_000, async () => {
      const v = Number((await ok(['inspect', '--size', '--format', '{{.SizeRw}}', 'dk-size'])).trim());
      return v >= 300 * 1024 ? v : undefined;
    });
    assert.ok(rw >= 300 * 1024);
    assert.match(
      (await ok(['ps', '--size', '--filter', 'name=dk-size', '--format', '{{.Size}}'])).trim(),
      /^3\d\d(\.\d+)?kB \(virtual [\d.]+[kM]B\)$/,
    );
    const details = await docker(['logs', '--details', 'dk-size']);
    assert.equal(details.code, 1);
    assert.match(details.stderr, /details=1 \(docker logs --details\) is not supported/);
    await ok(['rm', '-f', 'dk-size']);
  });

  test('errors: Docker wording, status and exit code', async () => {
    const missing = await docker(['container', 'inspect', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Error response from daemon: No such container: nope/);
    // plain `inspect` tries every object type; the CLI words its own summary
    const any = await docker(['inspect', 'nope']);
    assert.equal(any.code, 1);
    assert.match(any.stderr, /No such object: nope/);
    const logs = await docker(['logs', 'nope']);
    assert.equal(logs.code, 1);
    assert.match(logs.stderr, /No such container: nope/);

    await ok(['create', '--name', 'dk-taken', 'busybox', 'true']);
    const taken = await docker(['create', '--name', 'dk-taken', 'busybox', 'true']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /Conflict\. The container name "\/dk-taken" is already in use/);
    const badName = await docker(['create', '--name', 'x', 'busybox']);
    assert.match(badName.stderr, /Invalid container name \(x\)/);
    const badCp = await docker(['checkpoint', 'create', 'dk-taken', 'a..b']);
    assert.match(badCp.stderr, /invalid checkpoint ID "a\.\.b"/);
    const notRunning = await docker(['checkpoint', 'create', 'dk-taken', 'cp']);
    assert.match(notRunning.stderr, /Container dk-taken is not running/);
    // without the CLI's pull (no registry is reachable from here): Docker's words, which SDKs look for
    const noImage = await docker(['create', '--pull', 'never', 'no-such-image:1']);
    assert.equal(noImage.code, 1);
    assert.match(noImage.stderr, /No such image: no-such-image:1/);
    await ok(['rm', 'dk-taken']);
  });

  test('dockerode: create, start, inspect, logs, list, remove', async () => {
    const d = new Docker({ host: '127.0.0.1', port: server.port });
    const c = await d.createContainer({
      name: 'dk-node',
      Image: 'localhost/lifeboat/busybox:latest',
      Cmd: ['sh', '-c', 'echo hello; echo oops >&2; sleep 30'],
      Labels: { via: 'dockerode' },
      Env: ['GREETING=hi'],
    });
    await c.start();
    const info = await c.inspect();
    assert.equal(info.Name, '/dk-node');
    assert.equal(info.State.Running, true);
    assert.equal(info.Config.Labels['via'], 'dockerode');
    assert.ok(info.Config.Env.includes('GREETING=hi'));
    const streams = async (): Promise<Record<string, string>> => {
      const raw = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
      const out: Record<string, string> = { stdout: '', stderr: '' };
      for await (const f of demux(Readable.from([raw]))) out[f.stream] += f.data.toString();
      return out;
    };
    // the echoes run after start returns: wait until both streams have something, then check them exactly
    const out = await waitFor('output on both streams', 15_000, async () => {
      const o = await streams();
      return o['stdout'] !== '' && o['stderr'] !== '' ? o : undefined;
    });
    assert.deepEqual(out, { stdout: 'hello\n', stderr: 'oops\n' });
    const listed = await d.listContainers({ filters: { label: ['via=dockerode'] } });
    assert.deepEqual(
      listed.map((x) => x.Names),
      [['/dk-node']],
    );
    await c.remove({ force: true });
    await assert.rejects(c.inspect(), (err: { statusCode?: number }) => err.statusCode === 404);
  });
});
