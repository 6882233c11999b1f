import { isIP } from 'node:net';
import { byteSize } from '../../util/byte-size.ts';
import { ValidationError } from '../../util/errors.ts';
import {
  canonicalFieldNames,
  createBodySchema,
  isZero,
  refuseUnsupportedFields,
  type CreateBodyWire,
  type HostConfigWire,
} from './create-fields.ts';
import { parseBody } from '../../util/schema.ts';
import type {
  DockerContainerCreateBody,
  DockerDeviceMapping,
  DockerEndpointSettings,
  DockerHostConfig,
  DockerMountSpec,
  DockerPortMap,
  DockerUlimit,
} from './types.ts';
import { parseSignal, validateImageReference } from './validate.ts';
import { consoleSizeOf } from './wire.ts';

type Wire = CreateBodyWire;
type HostWire = HostConfigWire;

const PORT_KEY = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/;

/** null (what Docker's clients send for a setting left alone) as absent. */
const v = <T>(x: T | null | undefined): T | undefined => x ?? undefined;

/**
 * Checks the body of POST /containers/create field by field and answers
 * 400 with the field's name when one has the wrong shape, or asks for
 * something lifeboat cannot do (`create-fields.ts` says which): nothing a
 * client asked for is dropped. The JSON types come from the field table's
 * schema (`createBodySchema`); what is checked here is Docker's rules on
 * the typed values.
 */
export function parseCreateBody(raw: unknown): DockerContainerCreateBody {
  if (raw === undefined) throw new ValidationError('config cannot be empty in order to create a container');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ValidationError('body must be a JSON object');
  const canonical = canonicalFieldNames(raw as Record<string, unknown>);
  refuseUnsupportedFields(canonical);
  const o = parseBody(createBodySchema, canonical, '');
  const image = o.Image;
  if (!image) throw new ValidationError('Image is required');
  validateImageReference(image);
  const body: DockerContainerCreateBody = { Image: image };
  assign(body, 'Hostname', v(o.Hostname));
  assign(body, 'User', v(o.User));
  assign(body, 'WorkingDir', v(o.WorkingDir));
  assign(body, 'AttachStdin', v(o.AttachStdin));
  assign(body, 'AttachStdout', v(o.AttachStdout));
  assign(body, 'AttachStderr', v(o.AttachStderr));
  assign(body, 'Tty', v(o.Tty));
  assign(body, 'OpenStdin', v(o.OpenStdin));
  assign(body, 'StdinOnce', v(o.StdinOnce));
  assign(body, 'Env', v(o.Env));
  assign(body, 'Cmd', command(o.Cmd));
  assign(body, 'Entrypoint', command(o.Entrypoint));
  assign(body, 'Labels', v(o.Labels));
  assign(body, 'ExposedPorts', portSet(o.ExposedPorts, 'ExposedPorts'));
  assign(body, 'Volumes', v(o.Volumes) as Record<string, object> | undefined);
  const health = healthcheck(v(o.Healthcheck));
  if (health) body.Healthcheck = health;
  const stopTimeout = v(o.StopTimeout);
  if (stopTimeout !== undefined && stopTimeout >= 0) body.StopTimeout = stopTimeout;
  if (o.StopSignal) body.StopSignal = parseSignal(o.StopSignal);
  if (o.NetworkDisabled) body.NetworkDisabled = true;
  if (o.HostConfig) body.HostConfig = parseHostConfig(o.HostConfig);
  const eps = endpoints(v(o.NetworkingConfig?.EndpointsConfig), body.HostConfig?.NetworkMode);
  const mac = o.MacAddress || eps.mac;
  if (mac) body.MacAddress = macAddress(mac, 'MacAddress');
  if (Object.keys(eps.user).length) body.NetworkingConfig = { EndpointsConfig: eps.user };
  checkVolumePaths(body);
  return body;
}

/** Cmd and Entrypoint: a list of strings, or (older clients) one string. */
function command(c: string | string[] | null | undefined): string[] | undefined {
  return typeof c === 'string' ? [c] : v(c);
}

/** Docker's smallest non-zero health check duration. */
const MIN_HEALTH_NS = 1_000_000;

/**
 * Healthcheck, checked as dockerd checks it: Test [] keeps the image's check,
 * ["NONE"] disables it, ["CMD", ...] runs a program, ["CMD-SHELL", cmd] a
 * shell command; each duration 0 (the default) or at least 1 ms. The agent
 * runs the checks on their interval (agent/health-driver.ts); Podman keeps
 * the status. StartInterval (API 1.44) has no Podman 4 counterpart.
 */
function healthcheck(
  o: NonNullable<Wire['Healthcheck']> | undefined,
): DockerContainerCreateBody['Healthcheck'] {
  if (!o) return undefined;
  if (o.StartInterval)
    throw new ValidationError(
      'Healthcheck.StartInterval: checks at another interval during the start period are not supported (Podman 4 has no such setting)',
      'leave --health-start-interval out; failures during StartPeriod still do not count',
    );
  const test = v(o.Test) ?? [];
  if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]!))
    throw new ValidationError(
      `Healthcheck.Test: the first element must be NONE, CMD or CMD-SHELL, not "${test[0]}"`,
    );
  if (test[0] === 'CMD-SHELL' && test.length !== 2)
    throw new ValidationError('Healthcheck.Test: CMD-SHELL takes exactly one command string');
  if (test[0] === 'CMD' && test.length < 2)
    throw new ValidationError('Healthcheck.Test: CMD needs a program to run');
  const out: NonNullable<DockerContainerCreateBody['Healthcheck']> = { Test: test };
  for (const k of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const n = o[k];
    if (!n) continue;
    if (n < MIN_HEALTH_NS)
      throw new ValidationError(`Healthcheck.${k}: ${n} ns is below the 1 ms minimum (0 means the default)`);
    out[k] = n;
  }
  const retries = v(o.Retries);
  if (retries !== undefined && retries < 0)
    throw new ValidationError('Healthcheck.Retries: must not be negative');
  if (retries) out.Retries = retries;
  if (test.length === 0) {
    // the image's check, as is: Podman applies it by itself
    if (Object.keys(out).length > 1)
      throw new ValidationError(
        "Healthcheck: changing the image's check without naming its command is not supported",
        'give the command too (--health-cmd)',
      );
    return undefined;
  }
  return out;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

function macAddress(v: string, where: string): string {
  if (!MAC.test(v)) throw new ValidationError(`${where}: invalid MAC address "${v}" (use 02:42:ac:11:00:02)`);
  return v.toLowerCase();
}

/** The host's own network, under the names Docker and Podman give it. */
export const DEFAULT_NETWORKS: ReadonlySet<string> = new Set(['default', 'bridge', 'podman']);

/** A user-defined network's or a named volume's name, as Docker accepts them. */
export const RESOURCE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Whether NetworkMode names a user-defined network (not bridge, host, none or container:X). */
export function isUserNetwork(mode: string | undefined): boolean {
  return (
    mode !== undefined &&
    mode !== '' &&
    !DEFAULT_NETWORKS.has(mode) &&
    mode !== 'host' &&
    mode !== 'none' &&
    !mode.startsWith('container:')
  );
}

/**
 * NetworkingConfig.EndpointsConfig: the host's default network (whose only
 * setting lifeboat honours is MacAddress, which Docker >= 1.44 sends there)
 * and user-defined networks with their aliases and addresses. The network
 * of NetworkMode is among them whether or not the client listed it.
 */
function endpoints(
  eps: NonNullable<NonNullable<Wire['NetworkingConfig']>['EndpointsConfig']> | undefined,
  networkMode: string | undefined,
): { mac?: string; user: Record<string, DockerEndpointSettings> } {
  const user: Record<string, DockerEndpointSettings> = {};
  if (networkMode !== undefined && isUserNetwork(networkMode)) {
    if (!RESOURCE_NAME.test(networkMode))
      throw new ValidationError(`HostConfig.NetworkMode: "${networkMode}" is not a valid network name`);
    user[networkMode] = {};
  }
  let mac: string | undefined;
  if (!eps) return { user };
  const names = Object.keys(eps);
  const defaults = names.filter((n) => DEFAULT_NETWORKS.has(n));
  if (defaults.length > 0 && names.length > defaults.length)
    throw new ValidationError(
      `NetworkingConfig.EndpointsConfig: the host's default network (${defaults.join(', ')}) cannot be joined together with user-defined networks (${names.filter((n) => !DEFAULT_NETWORKS.has(n)).join(', ')})`,
      'join user-defined networks only; containers on them reach each other by name',
    );
  for (const name of names) {
    const where = `NetworkingConfig.EndpointsConfig.${name}`;
    const ep = eps[name] ?? {};
    if (DEFAULT_NETWORKS.has(name)) {
      for (const [key, value] of Object.entries(ep)) {
        if (key === 'MacAddress') mac = ep.MacAddress || undefined;
        else if (!isZero(value))
          throw new ValidationError(
            `${where}.${key} is not supported: the host's default network takes no aliases, addresses, links or driver options`,
            'create a network (docker network create NAME) and join it: --network NAME --network-alias ...',
          );
      }
      continue;
    }
    if (networkMode !== undefined && !isUserNetwork(networkMode) && networkMode !== '')
      throw new ValidationError(`${where}: network mode "${networkMode}" joins no user-defined network`);
    if (!RESOURCE_NAME.test(name))
      throw new ValidationError(`${where}: "${name}" is not a valid network name`);
    const out: DockerEndpointSettings = {};
    for (const [key, value] of Object.entries(ep)) {
      if (isZero(value)) continue;
      if (key === 'Aliases') {
        const aliases = ep.Aliases ?? [];
        for (const a of aliases)
          if (!RESOURCE_NAME.test(a))
            throw new ValidationError(`${where}.Aliases: "${a}" is not a valid name`);
        out.Aliases = aliases;
      } else if (key === 'IPAMConfig') {
        for (const k of ['IPv4Address', 'IPv6Address'] as const) {
          const ip = ep.IPAMConfig?.[k];
          if (!ip) continue;
          if (isIP(ip) !== (k === 'IPv4Address' ? 4 : 6))
            throw new ValidationError(
              `${where}.IPAMConfig.${k}: "${ip}" is not an IPv${k === 'IPv4Address' ? 4 : 6} address`,
            );
          out.IPAMConfig = { ...out.IPAMConfig, [k]: ip };
        }
      } else if (key === 'MacAddress') {
        out.MacAddress = macAddress(ep.MacAddress ?? '', `${where}.MacAddress`);
      } else if (key === 'NetworkID') {
        // informational (the CLI fills it in from its own inspect); the name is what counts
      } else {
        throw new ValidationError(
          `${where}.${key} is not supported: ${key === 'Links' ? 'legacy links are for the default network; containers on a user-defined network reach each other by name and alias' : 'lifeboat honours Aliases, IPAMConfig and MacAddress of an endpoint'}`,
        );
      }
    }
    user[name] = { ...user[name], ...out };
  }
  return { ...(mac ? { mac } : {}), user };
}

/**
 * Config.Volumes lists container paths. docker-compose lists every path it
 * also mounts; an entry nothing mounts is an anonymous volume, which would
 * stay behind on a host when the container moves: it must be named.
 */
function checkVolumePaths(body: DockerContainerCreateBody): void {
  const covered = new Set<string>();
  for (const b of body.HostConfig?.Binds ?? []) covered.add(b.split(':')[1] ?? '');
  for (const m of body.HostConfig?.Mounts ?? []) covered.add(m.Target);
  for (const path of Object.keys(body.Volumes ?? {})) {
    if (!covered.has(path))
      throw new ValidationError(
        `Volumes: "${path}" is an anonymous volume, which lifeboat does not create: it would not follow the container to another host`,
        `name it: -v NAME:${path} (a named volume moves with the container), or bind a host path`,
      );
  }
}

function parseHostConfig(o: HostWire): DockerHostConfig {
  const hc: DockerHostConfig = {};
  const binds = v(o.Binds);
  if (binds) {
    for (const b of binds) validateBind(b);
    hc.Binds = binds;
  }
  assign(hc, 'Links', v(o.Links));
  const volumesFrom = v(o.VolumesFrom);
  if (volumesFrom) {
    for (const x of volumesFrom)
      if (!/^[^:]+(?::(?:ro|rw|z)(?:,(?:ro|rw|z))*)?$/.test(x))
        throw new ValidationError(`invalid VolumesFrom entry "${x}": use container[:ro|rw]`);
    hc.VolumesFrom = volumesFrom;
  }
  assign(hc, 'ExtraHosts', v(o.ExtraHosts));
  assign(hc, 'NetworkMode', v(o.NetworkMode));
  assign(hc, 'AutoRemove', v(o.AutoRemove));
  assign(hc, 'PublishAllPorts', v(o.PublishAllPorts));
  assign(hc, 'Privileged', v(o.Privileged));
  const memory = v(o.Memory);
  if (memory !== undefined) {
    if (memory < 0) throw new ValidationError('HostConfig.Memory must not be negative');
    if (memory > 0 && memory < 6 * 1024 * 1024)
      throw new ValidationError('Minimum memory limit allowed is 6MB');
    hc.Memory = memory;
  }
  const shares = v(o.CpuShares);
  if (shares !== undefined) {
    if (shares < 0) throw new ValidationError('HostConfig.CpuShares must not be negative');
    hc.CpuShares = shares;
  }
  if (o.PortBindings) hc.PortBindings = portBindings(o.PortBindings);
  if (o.RestartPolicy) {
    const name = o.RestartPolicy.Name ?? '';
    const retries = o.RestartPolicy.MaximumRetryCount ?? 0;
    if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name))
      throw new ValidationError(
        `HostConfig.RestartPolicy.Name: invalid restart policy "${name}" (use no, always, unless-stopped or on-failure)`,
      );
    if (retries < 0)
      throw new ValidationError('HostConfig.RestartPolicy.MaximumRetryCount must not be negative');
    if (retries > 0 && name !== 'on-failure')
      throw new ValidationError(
        `HostConfig.RestartPolicy: maximum retry count cannot be used with restart policy "${name || 'no'}"`,
      );
    hc.RestartPolicy = { Name: name || 'no', MaximumRetryCount: retries };
  }
  parseLogConfig(o, hc);
  parseSecurity(o, hc);
  parseResources(o, hc);
  parseNamespaces(o, hc);
  assign(hc, 'Dns', ipList(v(o.Dns), 'Dns'));
  assign(hc, 'DnsSearch', v(o.DnsSearch));
  assign(hc, 'DnsOptions', v(o.DnsOptions));
  assign(hc, 'GroupAdd', v(o.GroupAdd));
  assign(hc, 'Sysctls', nonEmpty(o.Sysctls));
  const annotations = nonEmpty(o.Annotations);
  if (annotations) {
    for (const key of Object.keys(annotations))
      if (/^(org\.criu\.|io\.podman\.annotations\.|lifeboat\.)/.test(key))
        throw new ValidationError(
          `HostConfig.Annotations: "${key}" is reserved: it changes how CRIU or Podman treat the container`,
        );
    hc.Annotations = annotations;
  }
  const tmpfs = nonEmpty(o.Tmpfs);
  if (tmpfs) {
    for (const [path, opts] of Object.entries(tmpfs)) {
      absolutePath(path, 'HostConfig.Tmpfs');
      tmpfsOptions(opts, `HostConfig.Tmpfs["${path}"]`);
    }
    hc.Tmpfs = tmpfs;
  }
  assign(hc, 'Mounts', mounts(v(o.Mounts)));
  assign(hc, 'ConsoleSize', consoleSizeOf(o.ConsoleSize));
  return hc;
}

/** HostConfig's maps: an empty one asks for nothing. */
function nonEmpty(m: Record<string, string> | null | undefined): Record<string, string> | undefined {
  return m && Object.keys(m).length ? m : undefined;
}

const LOG_DRIVERS: Record<string, string> = { 'json-file': 'k8s-file', 'k8s-file': 'k8s-file', none: 'none' };

function parseLogConfig(o: HostWire, hc: DockerHostConfig): void {
  if (!o.LogConfig) return;
  const type = o.LogConfig.Type ?? '';
  const config = o.LogConfig.Config ?? {};
  if (type !== '' && !LOG_DRIVERS[type])
    throw new ValidationError(
      `HostConfig.LogConfig.Type: log driver "${type}" is not supported (use json-file, k8s-file or none)`,
      "lifeboat's hosts keep logs in a file per container, which `docker logs` reads wherever the container moved",
    );
  for (const [k, x] of Object.entries(config)) {
    if (k !== 'max-size')
      throw new ValidationError(
        `HostConfig.LogConfig.Config: log option "${k}" is not supported (only max-size; Podman keeps one file, no rotation)`,
      );
    byteSize(x, `HostConfig.LogConfig.Config["max-size"]`);
  }
  if (type !== '' || Object.keys(config).length) hc.LogConfig = { Type: type || 'json-file', Config: config };
}

const SECURITY_OPT =
  /^(no-new-privileges(?:[:=](?:true|false))?|seccomp[:=]unconfined|apparmor[:=][A-Za-z0-9_./-]+|label[:=](?:disable|(?:user|role|type|level):[A-Za-z0-9_.:,-]+))$/;

function parseSecurity(o: HostWire, hc: DockerHostConfig): void {
  for (const key of ['CapAdd', 'CapDrop'] as const) {
    const list = v(o[key]);
    if (!list) continue;
    for (const c of list)
      if (!/^(CAP_)?[A-Z_]+$/i.test(c) && c.toUpperCase() !== 'ALL')
        throw new ValidationError(
          `HostConfig.${key}: invalid capability "${c}" (e.g. NET_ADMIN, CAP_SYS_TIME, ALL)`,
        );
    hc[key] = list;
  }
  assign(hc, 'ReadonlyRootfs', v(o.ReadonlyRootfs));
  const opts = v(o.SecurityOpt);
  if (opts) {
    for (const x of opts)
      if (!SECURITY_OPT.test(x))
        throw new ValidationError(
          `HostConfig.SecurityOpt: "${x}" is not supported`,
          'lifeboat honours no-new-privileges, seccomp=unconfined, apparmor=<profile> and label=disable|user:|role:|type:|level:; a seccomp profile file would have to exist on every host a container can move to',
        );
    hc.SecurityOpt = opts;
  }
}

function parseResources(o: HostWire, hc: DockerHostConfig): void {
  const nonNegative = (
    key: 'NanoCpus' | 'CpuPeriod' | 'BlkioWeight' | 'MemoryReservation' | 'ShmSize',
  ): number | undefined => {
    const n = v(o[key]);
    if (n !== undefined && n < 0) throw new ValidationError(`HostConfig.${key} must not be negative`);
    return n;
  };
  assign(hc, 'NanoCpus', nonNegative('NanoCpus'));
  assign(hc, 'CpuPeriod', nonNegative('CpuPeriod'));
  const quota = v(o.CpuQuota);
  if (quota !== undefined && quota !== -1 && quota < 0)
    throw new ValidationError('HostConfig.CpuQuota must be -1 (unlimited) or positive');
  assign(hc, 'CpuQuota', quota);
  if (hc.NanoCpus && (hc.CpuPeriod || hc.CpuQuota))
    throw new ValidationError(
      'Conflicting options: Nano CPUs and CPU Period cannot both be set',
      'give either --cpus or --cpu-period/--cpu-quota',
    );
  for (const key of ['CpusetCpus', 'CpusetMems'] as const) {
    const set = o[key];
    if (set && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(set))
      throw new ValidationError(`HostConfig.${key}: invalid set "${set}" (e.g. 0-1 or 0,2)`);
    assign(hc, key, set || undefined);
  }
  const weight = nonNegative('BlkioWeight');
  if (weight && (weight < 10 || weight > 1000))
    throw new ValidationError('HostConfig.BlkioWeight must be between 10 and 1000');
  assign(hc, 'BlkioWeight', weight);
  assign(hc, 'MemoryReservation', nonNegative('MemoryReservation'));
  const swap = v(o.MemorySwap);
  if (swap !== undefined && swap < -1) throw new ValidationError('HostConfig.MemorySwap must be -1 or more');
  if (swap && swap > 0 && (!hc.Memory || swap < hc.Memory))
    throw new ValidationError(
      'HostConfig.MemorySwap must be at least HostConfig.Memory (it counts memory plus swap), and needs Memory set',
    );
  assign(hc, 'MemorySwap', swap);
  const swappiness = v(o.MemorySwappiness);
  if (swappiness !== undefined && swappiness !== -1) {
    if (swappiness < 0 || swappiness > 100)
      throw new ValidationError(`HostConfig.MemorySwappiness: ${swappiness} is not between 0 and 100`);
    hc.MemorySwappiness = swappiness;
  }
  assign(hc, 'OomKillDisable', o.OomKillDisable || undefined);
  const oomScore = v(o.OomScoreAdj);
  if (oomScore !== undefined && (oomScore < -1000 || oomScore > 1000))
    throw new ValidationError('HostConfig.OomScoreAdj must be between -1000 and 1000');
  assign(hc, 'OomScoreAdj', oomScore || undefined);
  const pids = v(o.PidsLimit);
  if (pids !== undefined && pids > 0) hc.PidsLimit = pids;
  const shm = nonNegative('ShmSize');
  assign(hc, 'ShmSize', shm || undefined);
  assign(hc, 'Init', o.Init || undefined);
  assign(hc, 'Devices', devices(v(o.Devices)));
  assign(hc, 'Ulimits', ulimits(v(o.Ulimits)));
}

const NAMESPACE_MODES: Record<string, readonly string[]> = {
  CgroupnsMode: ['private', 'host'],
  IpcMode: ['private', 'shareable', 'none', 'host'],
  PidMode: ['private', 'host'],
  UTSMode: ['private', 'host'],
};

function parseNamespaces(o: HostWire, hc: DockerHostConfig): void {
  for (const [key, allowed] of Object.entries(NAMESPACE_MODES)) {
    const mode = o[key as 'CgroupnsMode' | 'IpcMode' | 'PidMode' | 'UTSMode'];
    if (!mode) continue;
    if (!allowed.includes(mode))
      throw new ValidationError(
        `HostConfig.${key}: "${mode}" is not supported (use ${allowed.join(' or ')})`,
        mode.startsWith('container:')
          ? "sharing another container's namespace would tie the two to one host; lifeboat moves containers one at a time"
          : undefined,
      );
    (hc as Record<string, unknown>)[key] = mode;
  }
}

function devices(list: NonNullable<HostWire['Devices']> | undefined): DockerDeviceMapping[] | undefined {
  if (!list?.length) return undefined;
  return list.map((e, i) => {
    const onHost = e.PathOnHost ?? '';
    const inContainer = e.PathInContainer || onHost;
    const perms = e.CgroupPermissions || 'rwm';
    absolutePath(onHost, `HostConfig.Devices[${i}].PathOnHost`);
    absolutePath(inContainer, `HostConfig.Devices[${i}].PathInContainer`);
    if (!/^[rwm]{1,3}$/.test(perms))
      throw new ValidationError(
        `HostConfig.Devices[${i}].CgroupPermissions: "${perms}" (use r, w, m or a mix)`,
      );
    return { PathOnHost: onHost, PathInContainer: inContainer, CgroupPermissions: perms };
  });
}

const RLIMITS = new Set([
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
  'as',
]);

function ulimits(list: NonNullable<HostWire['Ulimits']> | undefined): DockerUlimit[] | undefined {
  if (!list?.length) return undefined;
  return list.map((e, i) => {
    const name = e.Name ?? '';
    const soft = e.Soft ?? 0;
    const hard = e.Hard ?? 0;
    if (!RLIMITS.has(name))
      throw new ValidationError(
        `HostConfig.Ulimits[${i}]: invalid ulimit type "${name}" (e.g. nofile, nproc, core)`,
      );
    if (soft > hard)
      throw new ValidationError(
        `HostConfig.Ulimits[${i}]: ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`,
      );
    return { Name: name, Soft: soft, Hard: hard };
  });
}

const PROPAGATION = new Set(['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

type MountWire = NonNullable<HostWire['Mounts']>[number];

function mounts(list: MountWire[] | undefined): DockerMountSpec[] | undefined {
  if (!list?.length) return undefined;
  return list.map((e, i) => {
    const where = `HostConfig.Mounts[${i}]`;
    const type = e.Type ?? '';
    const target = e.Target ?? '';
    absolutePath(target, `${where}.Target`);
    for (const key of ['Consistency', 'ClusterOptions'] as const)
      if (!isZero(e[key])) throw new ValidationError(`${where}.${key} is not supported`);
    if (type !== 'volume' && !isZero(e.VolumeOptions))
      throw new ValidationError(`${where}: VolumeOptions need Type volume`);
    if (type === 'volume') return volumeMount(e, where, target);
    if (type === 'bind') {
      const source = e.Source ?? '';
      absolutePath(source, `${where}.Source`);
      if (!isZero(e.TmpfsOptions)) throw new ValidationError(`${where}: TmpfsOptions need Type tmpfs`);
      const propagation = e.BindOptions?.Propagation ?? '';
      if (propagation && !PROPAGATION.has(propagation))
        throw new ValidationError(
          `${where}.BindOptions.Propagation: "${propagation}" (use ${[...PROPAGATION].join(', ')})`,
        );
      return {
        Type: 'bind' as const,
        Source: source,
        Target: target,
        ...(e.ReadOnly ? { ReadOnly: true } : {}),
        ...(propagation ? { BindOptions: { Propagation: propagation } } : {}),
      };
    }
    if (type === 'tmpfs') {
      if (!isZero(e.Source)) throw new ValidationError(`${where}: a tmpfs mount has no Source`);
      if (!isZero(e.BindOptions)) throw new ValidationError(`${where}: BindOptions need Type bind`);
      const size = v(e.TmpfsOptions?.SizeBytes);
      const mode = v(e.TmpfsOptions?.Mode);
      if (size !== undefined && size < 0)
        throw new ValidationError(`${where}.TmpfsOptions.SizeBytes must not be negative`);
      if (mode !== undefined && (mode < 0 || mode > 0o7777))
        throw new ValidationError(`${where}.TmpfsOptions.Mode must be a file mode (0 to 07777)`);
      return {
        Type: 'tmpfs' as const,
        Target: target,
        ...(e.ReadOnly ? { ReadOnly: true } : {}),
        ...(size || mode
          ? { TmpfsOptions: { ...(size ? { SizeBytes: size } : {}), ...(mode ? { Mode: mode } : {}) } }
          : {}),
      };
    }
    throw new ValidationError(`${where}.Type: "${type}" is not supported (use bind, volume or tmpfs)`);
  });
}

function volumeMount(e: MountWire, where: string, target: string): DockerMountSpec {
  const source = e.Source ?? '';
  if (!source)
    throw new ValidationError(
      `${where}: a volume mount without Source is an anonymous volume, which lifeboat does not create`,
      'name the volume (Source) so it can travel with the container',
    );
  if (!RESOURCE_NAME.test(source))
    throw new ValidationError(`${where}.Source: "${source}" is not a valid volume name`);
  if (!isZero(e.BindOptions)) throw new ValidationError(`${where}: BindOptions need Type bind`);
  if (!isZero(e.TmpfsOptions)) throw new ValidationError(`${where}: TmpfsOptions need Type tmpfs`);
  const vo = e.VolumeOptions;
  const out: DockerMountSpec = { Type: 'volume', Source: source, Target: target };
  if (e.ReadOnly) out.ReadOnly = true;
  if (vo?.NoCopy) out.VolumeOptions = { ...out.VolumeOptions, NoCopy: true };
  if (vo?.Labels && Object.keys(vo.Labels).length)
    out.VolumeOptions = { ...out.VolumeOptions, Labels: vo.Labels };
  const dc = vo?.DriverConfig;
  if (dc && (!(isZero(dc.Name) || dc.Name === 'local') || !isZero(dc.Options)))
    throw new ValidationError(
      `${where}.VolumeOptions.DriverConfig is not supported: volumes use the local driver without options`,
    );
  return out;
}

function absolutePath(p: string, where: string): void {
  if (!p.startsWith('/') || p.split('/').includes('..'))
    throw new ValidationError(`${where}: "${p}" must be an absolute path without ".."`);
}

const TMPFS_OPTION =
  /^(rw|ro|exec|noexec|suid|nosuid|dev|nodev|sync|async|mode=[0-7]{3,4}|size=\d+[kmg%]?|nr_inodes=\d+[kmg]?|uid=\d+|gid=\d+|tmpcopyup|notmpcopyup)$/;

function tmpfsOptions(opts: string, where: string): void {
  for (const o of opts.split(','))
    if (o !== '' && !TMPFS_OPTION.test(o))
      throw new ValidationError(`${where}: tmpfs option "${o}" is not supported`);
}

function ipList(list: string[] | undefined, key: string): string[] | undefined {
  for (const ip of list ?? [])
    if (isIP(ip) === 0) throw new ValidationError(`HostConfig.${key}: "${ip}" is not an IP address`);
  return list?.length ? list : undefined;
}

/** `host-path:container-path[:options]` or `volume-name:container-path[:options]`. */
function validateBind(b: string): void {
  const parts = b.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1])
    throw new ValidationError(
      `invalid bind "${b}": use /host/path:/container/path[:ro] or NAME:/container/path`,
    );
  if (!parts[0].startsWith('/') && !RESOURCE_NAME.test(parts[0]))
    throw new ValidationError(
      `invalid bind "${b}": "${parts[0]}" is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
    );
  if (!parts[1].startsWith('/'))
    throw new ValidationError(`invalid bind "${b}": the container path must be absolute`);
  if (
    parts[2] !== undefined &&
    !/^(ro|rw|z|Z|private|rprivate|shared|rshared|slave|rslave|nocopy)(,(ro|rw|z|Z|private|rprivate|shared|rshared|slave|rslave|nocopy))*$/.test(
      parts[2],
    )
  )
    throw new ValidationError(
      `invalid bind "${b}": options are ro, rw, z, Z, nocopy and a propagation mode (rprivate, rshared, rslave ...)`,
    );
}

function portBindings(o: NonNullable<HostWire['PortBindings']>): DockerPortMap {
  const out: DockerPortMap = {};
  for (const [key, value] of Object.entries(o)) {
    portKey(key, 'HostConfig.PortBindings');
    if (value === null) {
      out[key] = null;
      continue;
    }
    out[key] = value.map((b) => {
      const hostIp = v(b.HostIp);
      const hostPort = v(b.HostPort);
      if (
        hostPort !== undefined &&
        hostPort !== '' &&
        (!/^\d{1,5}$/.test(hostPort) || Number(hostPort) > 65535)
      )
        throw new ValidationError(
          `invalid host port "${hostPort}" for ${key}: a single port number up to 65535 (port ranges are not supported)`,
        );
      if (hostIp !== undefined && hostIp !== '' && isIP(hostIp) === 0)
        throw new ValidationError(
          `invalid host IP "${hostIp}" for ${key}: an IPv4 or IPv6 address, or empty`,
        );
      return {
        ...(hostIp !== undefined ? { HostIp: hostIp } : {}),
        ...(hostPort !== undefined ? { HostPort: hostPort } : {}),
      };
    });
  }
  return out;
}

function portSet(
  set: Record<string, unknown> | null | undefined,
  key: string,
): Record<string, object> | undefined {
  if (!set) return undefined;
  for (const k of Object.keys(set)) portKey(k, key);
  return set as Record<string, object>;
}

function portKey(key: string, where: string): void {
  const m = PORT_KEY.exec(key);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
    throw new ValidationError(`${where}: invalid port "${key}" (use PORT/tcp or PORT/udp)`);
  if (m[2] === 'sctp') throw new ValidationError(`${where}: sctp ports are not supported ("${key}")`);
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}
