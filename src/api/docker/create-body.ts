import { isIP } from 'node:net';
import { byteSize } from '../../util/byte-size.ts';
import { ValidationError } from '../../util/errors.ts';
import { canonicalFieldNames, isZero, refuseUnsupportedFields } from './create-fields.ts';
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

type Obj = Record<string, unknown>;

const PORT_KEY = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/;

/**
 * Checks the body of POST /containers/create field by field and answers
 * 400 with the field's name when one has the wrong shape, or asks for
 * something lifeboat cannot do (`create-fields.ts` says which): nothing a
 * client asked for is dropped.
 */
export function parseCreateBody(raw: unknown): DockerContainerCreateBody {
  if (raw === undefined) throw new ValidationError('config cannot be empty in order to create a container');
  const o = canonicalFieldNames(object(raw, 'body'));
  refuseUnsupportedFields(o);
  const image = str(o, 'Image');
  if (!image) throw new ValidationError('Image is required');
  validateImageReference(image);
  const body: DockerContainerCreateBody = { Image: image };
  assign(body, 'Hostname', str(o, 'Hostname'));
  assign(body, 'Domainname', str(o, 'Domainname'));
  assign(body, 'User', str(o, 'User'));
  assign(body, 'WorkingDir', str(o, 'WorkingDir'));
  assign(body, 'StopSignal', str(o, 'StopSignal'));
  assign(body, 'AttachStdin', bool(o, 'AttachStdin'));
  assign(body, 'AttachStdout', bool(o, 'AttachStdout'));
  assign(body, 'AttachStderr', bool(o, 'AttachStderr'));
  assign(body, 'Tty', bool(o, 'Tty'));
  assign(body, 'OpenStdin', bool(o, 'OpenStdin'));
  assign(body, 'StdinOnce', bool(o, 'StdinOnce'));
  assign(body, 'Env', strList(o, 'Env'));
  assign(body, 'Cmd', command(o, 'Cmd'));
  assign(body, 'Entrypoint', command(o, 'Entrypoint'));
  assign(body, 'Labels', strMap(o, 'Labels'));
  assign(body, 'ExposedPorts', portSet(o, 'ExposedPorts'));
  assign(body, 'Volumes', objectOrNull(o, 'Volumes'));
  const health = healthcheck(o['Healthcheck']);
  if (health) body.Healthcheck = health;
  const stopTimeout = int(o, 'StopTimeout');
  if (stopTimeout !== undefined && stopTimeout >= 0) body.StopTimeout = stopTimeout;
  const stopSignal = str(o, 'StopSignal');
  if (stopSignal) body.StopSignal = parseSignal(stopSignal);
  if (bool(o, 'NetworkDisabled')) body.NetworkDisabled = true;
  if (o['HostConfig'] !== undefined && o['HostConfig'] !== null)
    body.HostConfig = parseHostConfig(object(o['HostConfig'], 'HostConfig'));
  const eps = endpoints(o['NetworkingConfig'], body.HostConfig?.NetworkMode);
  const mac = str(o, 'MacAddress') || eps.mac;
  if (mac) body.MacAddress = macAddress(mac, 'MacAddress');
  if (Object.keys(eps.user).length) body.NetworkingConfig = { EndpointsConfig: eps.user };
  checkVolumePaths(body);
  return body;
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
function healthcheck(raw: unknown): DockerContainerCreateBody['Healthcheck'] {
  if (raw === undefined || raw === null) return undefined;
  const o = object(raw, 'Healthcheck');
  for (const k of Object.keys(o))
    if (!['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'].includes(k))
      throw new ValidationError(`Healthcheck.${k}: unknown field`);
  if (int(o, 'StartInterval', 'Healthcheck.'))
    throw new ValidationError(
      'Healthcheck.StartInterval: checks at another interval during the start period are not supported (Podman 4 has no such setting)',
      'leave --health-start-interval out; failures during StartPeriod still do not count',
    );
  const test = strList(o, 'Test', 'Healthcheck.') ?? [];
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
    const v = int(o, k, 'Healthcheck.');
    if (v === undefined || v === 0) continue;
    if (v < MIN_HEALTH_NS)
      throw new ValidationError(`Healthcheck.${k}: ${v} ns is below the 1 ms minimum (0 means the default)`);
    out[k] = v;
  }
  const retries = int(o, 'Retries', 'Healthcheck.');
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
  raw: unknown,
  networkMode: string | undefined,
): { mac?: string; user: Record<string, DockerEndpointSettings> } {
  const user: Record<string, DockerEndpointSettings> = {};
  if (networkMode !== undefined && isUserNetwork(networkMode)) {
    if (!RESOURCE_NAME.test(networkMode))
      throw new ValidationError(`HostConfig.NetworkMode: "${networkMode}" is not a valid network name`);
    user[networkMode] = {};
  }
  let mac: string | undefined;
  if (raw === undefined || raw === null) return { user };
  const nc = object(raw, 'NetworkingConfig');
  if (nc['EndpointsConfig'] === undefined || nc['EndpointsConfig'] === null) return { user };
  const eps = object(nc['EndpointsConfig'], 'NetworkingConfig.EndpointsConfig');
  const names = Object.keys(eps);
  const defaults = names.filter((n) => DEFAULT_NETWORKS.has(n));
  if (defaults.length > 0 && names.length > defaults.length)
    throw new ValidationError(
      `NetworkingConfig.EndpointsConfig: the host's default network (${defaults.join(', ')}) cannot be joined together with user-defined networks (${names.filter((n) => !DEFAULT_NETWORKS.has(n)).join(', ')})`,
      'join user-defined networks only; containers on them reach each other by name',
    );
  for (const name of names) {
    const where = `NetworkingConfig.EndpointsConfig.${name}`;
    const ep = eps[name] === null || eps[name] === undefined ? {} : object(eps[name], where);
    if (DEFAULT_NETWORKS.has(name)) {
      for (const [key, value] of Object.entries(ep)) {
        if (key === 'MacAddress') {
          if (typeof value !== 'string') throw new ValidationError(`${where}.MacAddress must be a string`);
          mac = value || undefined;
        } else if (!isZero(value))
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
        const aliases = strList(ep, 'Aliases', `${where}.`) ?? [];
        for (const a of aliases)
          if (!RESOURCE_NAME.test(a))
            throw new ValidationError(`${where}.Aliases: "${a}" is not a valid name`);
        out.Aliases = aliases;
      } else if (key === 'IPAMConfig') {
        const ipam = object(value, `${where}.IPAMConfig`);
        for (const [k, v] of Object.entries(ipam)) {
          if (isZero(v)) continue;
          if (k !== 'IPv4Address' && k !== 'IPv6Address')
            throw new ValidationError(
              `${where}.IPAMConfig.${k} is not supported (use IPv4Address or IPv6Address)`,
            );
          const ip = str(ipam, k, `${where}.IPAMConfig.`) ?? '';
          if (isIP(ip) !== (k === 'IPv4Address' ? 4 : 6))
            throw new ValidationError(
              `${where}.IPAMConfig.${k}: "${ip}" is not an IPv${k === 'IPv4Address' ? 4 : 6} address`,
            );
          out.IPAMConfig = { ...out.IPAMConfig, [k]: ip };
        }
      } else if (key === 'MacAddress') {
        out.MacAddress = macAddress(str(ep, 'MacAddress', `${where}.`) ?? '', `${where}.MacAddress`);
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

function parseHostConfig(o: Obj): DockerHostConfig {
  const hc: DockerHostConfig = {};
  const binds = strList(o, 'Binds', 'HostConfig.');
  if (binds) {
    for (const b of binds) validateBind(b);
    hc.Binds = binds;
  }
  assign(hc, 'Links', strList(o, 'Links', 'HostConfig.'));
  const volumesFrom = strList(o, 'VolumesFrom', 'HostConfig.');
  if (volumesFrom) {
    for (const v of volumesFrom)
      if (!/^[^:]+(?::(?:ro|rw|z)(?:,(?:ro|rw|z))*)?$/.test(v))
        throw new ValidationError(`invalid VolumesFrom entry "${v}": use container[:ro|rw]`);
    hc.VolumesFrom = volumesFrom;
  }
  assign(hc, 'ExtraHosts', strList(o, 'ExtraHosts', 'HostConfig.'));
  assign(hc, 'NetworkMode', str(o, 'NetworkMode', 'HostConfig.'));
  assign(hc, 'CgroupParent', str(o, 'CgroupParent', 'HostConfig.'));
  assign(hc, 'AutoRemove', bool(o, 'AutoRemove', 'HostConfig.'));
  assign(hc, 'PublishAllPorts', bool(o, 'PublishAllPorts', 'HostConfig.'));
  assign(hc, 'Privileged', bool(o, 'Privileged', 'HostConfig.'));
  const memory = int(o, 'Memory', 'HostConfig.');
  if (memory !== undefined) {
    if (memory < 0) throw new ValidationError('HostConfig.Memory must not be negative');
    if (memory > 0 && memory < 6 * 1024 * 1024)
      throw new ValidationError('Minimum memory limit allowed is 6MB');
    hc.Memory = memory;
  }
  const shares = int(o, 'CpuShares', 'HostConfig.');
  if (shares !== undefined) {
    if (shares < 0) throw new ValidationError('HostConfig.CpuShares must not be negative');
    hc.CpuShares = shares;
  }
  if (o['PortBindings'] !== undefined && o['PortBindings'] !== null)
    hc.PortBindings = portBindings(object(o['PortBindings'], 'HostConfig.PortBindings'));
  if (o['RestartPolicy'] !== undefined && o['RestartPolicy'] !== null) {
    const rp = object(o['RestartPolicy'], 'HostConfig.RestartPolicy');
    const name = str(rp, 'Name', 'HostConfig.RestartPolicy.') ?? '';
    const retries = int(rp, 'MaximumRetryCount', 'HostConfig.RestartPolicy.') ?? 0;
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
  assign(hc, 'Dns', ipList(o, 'Dns'));
  assign(hc, 'DnsSearch', strList(o, 'DnsSearch', 'HostConfig.'));
  assign(hc, 'DnsOptions', strList(o, 'DnsOptions', 'HostConfig.'));
  assign(hc, 'GroupAdd', strList(o, 'GroupAdd', 'HostConfig.'));
  assign(hc, 'Sysctls', strMap(o, 'Sysctls', 'HostConfig.'));
  const annotations = strMap(o, 'Annotations', 'HostConfig.');
  if (annotations) {
    for (const key of Object.keys(annotations))
      if (/^(org\.criu\.|io\.podman\.annotations\.|lifeboat\.)/.test(key))
        throw new ValidationError(
          `HostConfig.Annotations: "${key}" is reserved: it changes how CRIU or Podman treat the container`,
        );
    hc.Annotations = annotations;
  }
  const tmpfs = strMap(o, 'Tmpfs', 'HostConfig.');
  if (tmpfs) {
    for (const [path, opts] of Object.entries(tmpfs)) {
      absolutePath(path, 'HostConfig.Tmpfs');
      tmpfsOptions(opts, `HostConfig.Tmpfs["${path}"]`);
    }
    hc.Tmpfs = tmpfs;
  }
  assign(hc, 'Mounts', mounts(o));
  const console = o['ConsoleSize'];
  if (console !== undefined && console !== null) {
    if (
      !Array.isArray(console) ||
      console.length !== 2 ||
      !console.every((n) => Number.isInteger(n) && n >= 0 && n <= 65535)
    )
      throw new ValidationError(
        'HostConfig.ConsoleSize must be [height, width] with whole numbers up to 65535',
      );
    if (console[0] > 0 && console[1] > 0) hc.ConsoleSize = [console[0], console[1]];
  }
  return hc;
}

const LOG_DRIVERS: Record<string, string> = { 'json-file': 'k8s-file', 'k8s-file': 'k8s-file', none: 'none' };

function parseLogConfig(o: Obj, hc: DockerHostConfig): void {
  if (o['LogConfig'] === undefined || o['LogConfig'] === null) return;
  const lc = object(o['LogConfig'], 'HostConfig.LogConfig');
  const type = str(lc, 'Type', 'HostConfig.LogConfig.') ?? '';
  const config = strMap(lc, 'Config', 'HostConfig.LogConfig.') ?? {};
  if (type !== '' && !LOG_DRIVERS[type])
    throw new ValidationError(
      `HostConfig.LogConfig.Type: log driver "${type}" is not supported (use json-file, k8s-file or none)`,
      "lifeboat's hosts keep logs in a file per container, which `docker logs` reads wherever the container moved",
    );
  for (const [k, v] of Object.entries(config)) {
    if (k !== 'max-size')
      throw new ValidationError(
        `HostConfig.LogConfig.Config: log option "${k}" is not supported (only max-size; Podman keeps one file, no rotation)`,
      );
    byteSize(v, `HostConfig.LogConfig.Config["max-size"]`);
  }
  if (type !== '' || Object.keys(config).length) hc.LogConfig = { Type: type || 'json-file', Config: config };
}

const SECURITY_OPT =
  /^(no-new-privileges(?:[:=](?:true|false))?|seccomp[:=]unconfined|apparmor[:=][A-Za-z0-9_./-]+|label[:=](?:disable|(?:user|role|type|level):[A-Za-z0-9_.:,-]+))$/;

function parseSecurity(o: Obj, hc: DockerHostConfig): void {
  const caps = (key: 'CapAdd' | 'CapDrop'): void => {
    const list = strList(o, key, 'HostConfig.');
    if (!list) return;
    for (const c of list)
      if (!/^(CAP_)?[A-Z_]+$/i.test(c) && c.toUpperCase() !== 'ALL')
        throw new ValidationError(
          `HostConfig.${key}: invalid capability "${c}" (e.g. NET_ADMIN, CAP_SYS_TIME, ALL)`,
        );
    hc[key] = list;
  };
  caps('CapAdd');
  caps('CapDrop');
  assign(hc, 'ReadonlyRootfs', bool(o, 'ReadonlyRootfs', 'HostConfig.'));
  const opts = strList(o, 'SecurityOpt', 'HostConfig.');
  if (opts) {
    for (const s of opts)
      if (!SECURITY_OPT.test(s))
        throw new ValidationError(
          `HostConfig.SecurityOpt: "${s}" is not supported`,
          'lifeboat honours no-new-privileges, seccomp=unconfined, apparmor=<profile> and label=disable|user:|role:|type:|level:; a seccomp profile file would have to exist on every host a container can move to',
        );
    hc.SecurityOpt = opts;
  }
}

function parseResources(o: Obj, hc: DockerHostConfig): void {
  const nonNegative = (key: keyof DockerHostConfig & string): number | undefined => {
    const v = int(o, key, 'HostConfig.');
    if (v !== undefined && v < 0) throw new ValidationError(`HostConfig.${key} must not be negative`);
    return v;
  };
  assign(hc, 'NanoCpus', nonNegative('NanoCpus'));
  assign(hc, 'CpuPeriod', nonNegative('CpuPeriod'));
  const quota = int(o, 'CpuQuota', 'HostConfig.');
  if (quota !== undefined && quota !== -1 && quota < 0)
    throw new ValidationError('HostConfig.CpuQuota must be -1 (unlimited) or positive');
  assign(hc, 'CpuQuota', quota);
  if (hc.NanoCpus && (hc.CpuPeriod || hc.CpuQuota))
    throw new ValidationError(
      'Conflicting options: Nano CPUs and CPU Period cannot both be set',
      'give either --cpus or --cpu-period/--cpu-quota',
    );
  const cpuset = (key: 'CpusetCpus' | 'CpusetMems'): void => {
    const v = str(o, key, 'HostConfig.');
    if (v && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(v))
      throw new ValidationError(`HostConfig.${key}: invalid set "${v}" (e.g. 0-1 or 0,2)`);
    assign(hc, key, v || undefined);
  };
  cpuset('CpusetCpus');
  cpuset('CpusetMems');
  const weight = nonNegative('BlkioWeight');
  if (weight && (weight < 10 || weight > 1000))
    throw new ValidationError('HostConfig.BlkioWeight must be between 10 and 1000');
  assign(hc, 'BlkioWeight', weight);
  assign(hc, 'MemoryReservation', nonNegative('MemoryReservation'));
  const swap = int(o, 'MemorySwap', 'HostConfig.');
  if (swap !== undefined && swap < -1) throw new ValidationError('HostConfig.MemorySwap must be -1 or more');
  if (swap && swap > 0 && (!hc.Memory || swap < hc.Memory))
    throw new ValidationError(
      'HostConfig.MemorySwap must be at least HostConfig.Memory (it counts memory plus swap), and needs Memory set',
    );
  assign(hc, 'MemorySwap', swap);
  const swappiness = int(o, 'MemorySwappiness', 'HostConfig.');
  if (swappiness !== undefined && swappiness !== -1) {
    if (swappiness < 0 || swappiness > 100)
      throw new ValidationError(`HostConfig.MemorySwappiness: ${swappiness} is not between 0 and 100`);
    hc.MemorySwappiness = swappiness;
  }
  assign(hc, 'OomKillDisable', bool(o, 'OomKillDisable', 'HostConfig.') || undefined);
  const oomScore = int(o, 'OomScoreAdj', 'HostConfig.');
  if (oomScore !== undefined && (oomScore < -1000 || oomScore > 1000))
    throw new ValidationError('HostConfig.OomScoreAdj must be between -1000 and 1000');
  assign(hc, 'OomScoreAdj', oomScore || undefined);
  const pids = int(o, 'PidsLimit', 'HostConfig.');
  if (pids !== undefined && pids > 0) hc.PidsLimit = pids;
  const shm = nonNegative('ShmSize');
  assign(hc, 'ShmSize', shm || undefined);
  assign(hc, 'Init', bool(o, 'Init', 'HostConfig.') || undefined);
  assign(hc, 'Devices', devices(o));
  assign(hc, 'Ulimits', ulimits(o));
}

const NAMESPACE_MODES: Record<string, readonly string[]> = {
  CgroupnsMode: ['private', 'host'],
  IpcMode: ['private', 'shareable', 'none', 'host'],
  PidMode: ['private', 'host'],
  UTSMode: ['private', 'host'],
};

function parseNamespaces(o: Obj, hc: DockerHostConfig): void {
  for (const [key, allowed] of Object.entries(NAMESPACE_MODES)) {
    const v = str(o, key, 'HostConfig.');
    if (!v) continue;
    if (!allowed.includes(v))
      throw new ValidationError(
        `HostConfig.${key}: "${v}" is not supported (use ${allowed.join(' or ')})`,
        v.startsWith('container:')
          ? "sharing another container's namespace would tie the two to one host; lifeboat moves containers one at a time"
          : undefined,
      );
    (hc as Record<string, unknown>)[key] = v;
  }
}

function devices(o: Obj): DockerDeviceMapping[] | undefined {
  const v = o['Devices'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ValidationError('HostConfig.Devices must be a list');
  if (v.length === 0) return undefined;
  return v.map((d, i) => {
    const e = object(d, `HostConfig.Devices[${i}]`);
    const onHost = str(e, 'PathOnHost', `HostConfig.Devices[${i}].`) ?? '';
    const inContainer = str(e, 'PathInContainer', `HostConfig.Devices[${i}].`) || onHost;
    const perms = str(e, 'CgroupPermissions', `HostConfig.Devices[${i}].`) || 'rwm';
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

function ulimits(o: Obj): DockerUlimit[] | undefined {
  const v = o['Ulimits'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ValidationError('HostConfig.Ulimits must be a list');
  if (v.length === 0) return undefined;
  return v.map((u, i) => {
    const e = object(u, `HostConfig.Ulimits[${i}]`);
    const name = str(e, 'Name', `HostConfig.Ulimits[${i}].`) ?? '';
    const soft = int(e, 'Soft', `HostConfig.Ulimits[${i}].`) ?? 0;
    const hard = int(e, 'Hard', `HostConfig.Ulimits[${i}].`) ?? 0;
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

function mounts(o: Obj): DockerMountSpec[] | undefined {
  const v = o['Mounts'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new ValidationError('HostConfig.Mounts must be a list');
  if (v.length === 0) return undefined;
  return v.map((m, i) => {
    const where = `HostConfig.Mounts[${i}]`;
    const e = object(m, where);
    const type = str(e, 'Type', `${where}.`) ?? '';
    const target = str(e, 'Target', `${where}.`) ?? '';
    absolutePath(target, `${where}.Target`);
    for (const key of ['Consistency', 'ClusterOptions'])
      if (!isZero(e[key])) throw new ValidationError(`${where}.${key} is not supported`);
    if (type !== 'volume' && !isZero(e['VolumeOptions']))
      throw new ValidationError(`${where}: VolumeOptions need Type volume`);
    if (type === 'volume') return volumeMount(e, where, target);
    if (type === 'bind') {
      const source = str(e, 'Source', `${where}.`) ?? '';
      absolutePath(source, `${where}.Source`);
      if (!isZero(e['TmpfsOptions'])) throw new ValidationError(`${where}: TmpfsOptions need Type tmpfs`);
      const bo =
        e['BindOptions'] === undefined || e['BindOptions'] === null
          ? {}
          : object(e['BindOptions'], `${where}.BindOptions`);
      const propagation = str(bo, 'Propagation', `${where}.BindOptions.`) ?? '';
      if (propagation && !PROPAGATION.has(propagation))
        throw new ValidationError(
          `${where}.BindOptions.Propagation: "${propagation}" (use ${[...PROPAGATION].join(', ')})`,
        );
      for (const [k, x] of Object.entries(bo))
        if (k !== 'Propagation' && !isZero(x))
          throw new ValidationError(`${where}.BindOptions.${k} is not supported`);
      return {
        Type: 'bind' as const,
        Source: source,
        Target: target,
        ...(bool(e, 'ReadOnly', `${where}.`) ? { ReadOnly: true } : {}),
        ...(propagation ? { BindOptions: { Propagation: propagation } } : {}),
      };
    }
    if (type === 'tmpfs') {
      if (!isZero(e['Source'])) throw new ValidationError(`${where}: a tmpfs mount has no Source`);
      if (!isZero(e['BindOptions'])) throw new ValidationError(`${where}: BindOptions need Type bind`);
      const to =
        e['TmpfsOptions'] === undefined || e['TmpfsOptions'] === null
          ? {}
          : object(e['TmpfsOptions'], `${where}.TmpfsOptions`);
      const size = int(to, 'SizeBytes', `${where}.TmpfsOptions.`);
      const mode = int(to, 'Mode', `${where}.TmpfsOptions.`);
      if (size !== undefined && size < 0)
        throw new ValidationError(`${where}.TmpfsOptions.SizeBytes must not be negative`);
      if (mode !== undefined && (mode < 0 || mode > 0o7777))
        throw new ValidationError(`${where}.TmpfsOptions.Mode must be a file mode (0 to 07777)`);
      for (const [k, x] of Object.entries(to))
        if (k !== 'SizeBytes' && k !== 'Mode' && !isZero(x))
          throw new ValidationError(`${where}.TmpfsOptions.${k} is not supported`);
      return {
        Type: 'tmpfs' as const,
        Target: target,
        ...(bool(e, 'ReadOnly', `${where}.`) ? { ReadOnly: true } : {}),
        ...(size || mode
          ? { TmpfsOptions: { ...(size ? { SizeBytes: size } : {}), ...(mode ? { Mode: mode } : {}) } }
          : {}),
      };
    }
    throw new ValidationError(`${where}.Type: "${type}" is not supported (use bind, volume or tmpfs)`);
  });
}

function volumeMount(e: Obj, where: string, target: string): DockerMountSpec {
  const source = str(e, 'Source', `${where}.`) ?? '';
  if (!source)
    throw new ValidationError(
      `${where}: a volume mount without Source is an anonymous volume, which lifeboat does not create`,
      'name the volume (Source) so it can travel with the container',
    );
  if (!RESOURCE_NAME.test(source))
    throw new ValidationError(`${where}.Source: "${source}" is not a valid volume name`);
  if (!isZero(e['BindOptions'])) throw new ValidationError(`${where}: BindOptions need Type bind`);
  if (!isZero(e['TmpfsOptions'])) throw new ValidationError(`${where}: TmpfsOptions need Type tmpfs`);
  const vo =
    e['VolumeOptions'] === undefined || e['VolumeOptions'] === null
      ? {}
      : object(e['VolumeOptions'], `${where}.VolumeOptions`);
  const out: DockerMountSpec = { Type: 'volume', Source: source, Target: target };
  if (bool(e, 'ReadOnly', `${where}.`)) out.ReadOnly = true;
  for (const [k, v] of Object.entries(vo)) {
    if (isZero(v)) continue;
    if (k === 'NoCopy')
      out.VolumeOptions = {
        ...out.VolumeOptions,
        NoCopy: bool(vo, 'NoCopy', `${where}.VolumeOptions.`) ?? false,
      };
    else if (k === 'Labels')
      out.VolumeOptions = {
        ...out.VolumeOptions,
        Labels: strMap(vo, 'Labels', `${where}.VolumeOptions.`) ?? {},
      };
    else if (k === 'DriverConfig') {
      const dc = object(v, `${where}.VolumeOptions.DriverConfig`);
      if (!(isZero(dc['Name']) || dc['Name'] === 'local') || !isZero(dc['Options']))
        throw new ValidationError(
          `${where}.VolumeOptions.DriverConfig is not supported: volumes use the local driver without options`,
        );
    } else throw new ValidationError(`${where}.VolumeOptions.${k} is not supported`);
  }
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

function ipList(o: Obj, key: string): string[] | undefined {
  const list = strList(o, key, 'HostConfig.');
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

function portBindings(o: Obj): DockerPortMap {
  const out: DockerPortMap = {};
  for (const [key, value] of Object.entries(o)) {
    portKey(key, 'HostConfig.PortBindings');
    if (value === null) {
      out[key] = null;
      continue;
    }
    if (!Array.isArray(value))
      throw new ValidationError(`HostConfig.PortBindings["${key}"] must be a list of {HostIp, HostPort}`);
    out[key] = value.map((v) => {
      const b = object(v, `HostConfig.PortBindings["${key}"][]`);
      const hostIp = str(b, 'HostIp', `HostConfig.PortBindings["${key}"][].`);
      const hostPort = str(b, 'HostPort', `HostConfig.PortBindings["${key}"][].`);
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

function portSet(o: Obj, key: string): Record<string, object> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const set = object(v, key);
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

function object(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ValidationError(`${where} must be a JSON object`);
  return v as Obj;
}

function objectOrNull(o: Obj, key: string): Record<string, object> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return object(v, key) as Record<string, object>;
}

function str(o: Obj, key: string, prefix = ''): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ValidationError(`${prefix}${key} must be a string`);
  return v;
}

function bool(o: Obj, key: string, prefix = ''): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ValidationError(`${prefix}${key} must be true or false`);
  return v;
}

function int(o: Obj, key: string, prefix = ''): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new ValidationError(`${prefix}${key} must be an integer`);
  // JSON numbers beyond 2^53 arrive rounded, and beyond int64 the engine cannot take them at all.
  if (!Number.isSafeInteger(v)) throw new ValidationError(`${prefix}${key} is out of range`);
  return v;
}

function strList(o: Obj, key: string, prefix = ''): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new ValidationError(`${prefix}${key} must be a list of strings`);
  return v as string[];
}

/** Cmd and Entrypoint: a list of strings, or (older clients) one string. */
function command(o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (typeof v === 'string') return [v];
  return strList(o, key);
}

function strMap(o: Obj, key: string, prefix = ''): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const m = object(v, `${prefix}${key}`);
  for (const [k, x] of Object.entries(m))
    if (typeof x !== 'string') throw new ValidationError(`${prefix}${key}["${k}"] must be a string`);
  return Object.keys(m).length || !prefix ? (m as Record<string, string>) : undefined;
}
