import { ValidationError } from '../../util/errors.ts';

/**
 * Every field of the Engine API's ContainerCreate body (v1.47) and what
 * lifeboat does with it: the one place that says so. The body parser
 * refuses a field this table marks refused (or does not know) unless its
 * value asks for nothing, `docs/docker-create-fields.md` is rendered from
 * it (a unit test keeps the two equal), and the integration test sends a
 * value for each field.
 *
 * - honoured: mapped to Podman with Docker's meaning (the text says how);
 * - client: a field only the client acts on (the docker CLI writes the
 *   ID file, attaches its streams); kept in the container's config;
 * - refused: a 400 naming the field and the reason, never dropped.
 */
export type FieldStatus = 'honoured' | 'client' | 'refused';

export interface FieldRule {
  status: FieldStatus;
  /** honoured: what it becomes; client: who acts on it; refused: why, and what to do instead. */
  text: string;
  /** The values that ask for nothing; default: Docker's zero values (null, "", 0, false, empty lists and objects). */
  isDefault?: (v: unknown) => boolean;
}

const h = (text: string): FieldRule => ({ status: 'honoured', text });
const client = (text: string): FieldRule => ({ status: 'client', text });
const refused = (text: string, isDefault?: (v: unknown) => boolean): FieldRule =>
  isDefault ? { status: 'refused', text, isDefault } : { status: 'refused', text };

const WINDOWS = 'a Windows-only setting; lifeboat runs Linux containers';
const BLKIO_DEVICE =
  "per-device I/O limits need the device's major:minor on the host the container lands on, which the client cannot know in a cluster; use BlkioWeight";
const NO_VOLUME_DRIVERS =
  "volumes use the local driver on the container's host (lifeboat moves their data with the container); other drivers are not supported";

/** Keys are paths in the body: `Hostname`, `HostConfig.CapAdd`, `NetworkingConfig.EndpointsConfig`. */
export const CREATE_FIELDS: Readonly<Record<string, FieldRule>> = {
  Hostname: h('hostname'),
  Domainname: refused(
    "Podman 4 cannot set a container's NIS domain name; put the domain in Hostname (a fully qualified name)",
  ),
  User: h('user'),
  AttachStdin: client('the client attaches stdin after the create (docker run -i)'),
  AttachStdout: client('the client attaches stdout after the create'),
  AttachStderr: client('the client attaches stderr after the create'),
  ExposedPorts: h('expose (and the ports PublishAllPorts publishes)'),
  Tty: h('terminal'),
  OpenStdin: h('stdin'),
  StdinOnce: h("stdin closes when the attached client detaches (lifeboat's attach closes it)"),
  Env: h('env; an entry without "=" sets nothing, as in Docker'),
  Cmd: h('command'),
  Healthcheck: h(
    "healthconfig: Test (NONE, CMD, CMD-SHELL), Interval, Timeout, StartPeriod, Retries; the host's agent runs each check on its interval (Podman 4 would need systemd timers) and Podman keeps the status docker inspect and docker ps show; StartInterval is refused",
  ),
  ArgsEscaped: refused(WINDOWS),
  Image: h('image (resolved by Podman, shipped to the chosen host when missing)'),
  Volumes: h(
    'paths that a named volume or bind mount of the same create covers (as docker-compose sends them); an anonymous volume alone is refused: name it (-v NAME:/path) so it can travel',
  ),
  WorkingDir: h('work_dir'),
  Entrypoint: h('entrypoint ([""] clears the image\'s)'),
  NetworkDisabled: h('netns none'),
  MacAddress: h('the static MAC address on the first network'),
  OnBuild: refused('ONBUILD triggers belong to image builds; lifeboat does not build images'),
  Labels: h('labels'),
  StopSignal: h('stop_signal'),
  StopTimeout: h('stop_timeout'),
  Shell: refused('SHELL belongs to image builds; lifeboat does not build images'),
  HostConfig: h('see the HostConfig fields'),
  name: client("dockerode repeats the ?name= query parameter in the body; the query's name is the one used"),
  platform: refused(
    "a platform other than the hosts' own (linux) is not supported",
    (v) => v === undefined || v === null || v === '' || v === 'linux' || v === 'linux/amd64',
  ),
  NetworkingConfig: h('see NetworkingConfig.EndpointsConfig'),
  'NetworkingConfig.EndpointsConfig': h(
    "the networks to join: the host's default (MacAddress only) or user-defined networks of the cluster, with Aliases, IPAMConfig addresses and MacAddress; Links and DriverOpts are refused. The container is placed on the host of its networks",
  ),

  'HostConfig.Binds': h(
    'bind mounts of absolute host paths and named volumes (NAME:/path, created on first use, on the host the container is placed on or pinning it to the host that has the volume); options ro, rw, z, Z, nocopy and the propagation modes',
  ),
  'HostConfig.ContainerIDFile': client('the docker CLI writes the file itself'),
  'HostConfig.LogConfig': h(
    'log_configuration: json-file (Podman k8s-file, shown as json-file), k8s-file, none; option max-size',
  ),
  'HostConfig.NetworkMode': h(
    'netns: bridge/default, host, none, container:<name|id>, or the name of a user-defined network of the cluster (docker network create)',
  ),
  'HostConfig.PortBindings': h("portmappings (a host's address, or all of them)"),
  'HostConfig.RestartPolicy': h(
    'restart_policy and restart_tries: no, always, unless-stopped, on-failure[:N]',
  ),
  'HostConfig.AutoRemove': h('remove'),
  'HostConfig.VolumeDriver': refused(NO_VOLUME_DRIVERS, (v) => isZero(v) || v === 'local'),
  'HostConfig.VolumesFrom': h('volumes_from (the source must be on the same host)'),
  'HostConfig.ConsoleSize': h("the TTY's size, set right after the container starts"),
  'HostConfig.Annotations': h(
    'annotations (keys under org.criu., io.podman.annotations. and lifeboat. are refused: they change how CRIU, Podman and lifeboat treat the container)',
  ),
  'HostConfig.CapAdd': h('cap_add'),
  'HostConfig.CapDrop': h('cap_drop'),
  'HostConfig.CgroupnsMode': h('cgroupns: private or host'),
  'HostConfig.Dns': h('dns_server'),
  'HostConfig.DnsOptions': h('dns_option'),
  'HostConfig.DnsSearch': h('dns_search'),
  'HostConfig.ExtraHosts': h('hostadd'),
  'HostConfig.GroupAdd': h('groups'),
  'HostConfig.IpcMode': h('ipcns: private, shareable, none, host (container:<x> is refused)'),
  'HostConfig.Cgroup': refused('a cgroup namespace path is not supported; use CgroupnsMode'),
  'HostConfig.Links': h("/etc/hosts entries for the target's address, at create time"),
  'HostConfig.OomScoreAdj': h('oom_score_adj'),
  'HostConfig.PidMode': h('pidns: private or host (container:<x> is refused)'),
  'HostConfig.Privileged': h('privileged'),
  'HostConfig.PublishAllPorts': h('publish_image_ports'),
  'HostConfig.ReadonlyRootfs': h('read_only_filesystem'),
  'HostConfig.SecurityOpt': h(
    'no-new-privileges[:true|false] -> no_new_privileges; seccomp=unconfined; apparmor=<profile>; label=disable|user:|role:|type:|level: -> selinux_opts; others refused',
  ),
  'HostConfig.StorageOpt': refused(
    "storage options depend on each host's storage driver and do not travel with a migration",
  ),
  'HostConfig.Tmpfs': h('tmpfs mounts with their options'),
  'HostConfig.UTSMode': h('utsns: private or host'),
  'HostConfig.UsernsMode': refused(
    'user namespaces are not supported: CRIU restores on another host need the same ID mapping there',
    (v) => v === undefined || v === null || v === '' || v === 'host',
  ),
  'HostConfig.ShmSize': h('shm_size'),
  'HostConfig.Sysctls': h('sysctl'),
  'HostConfig.Runtime': refused(
    'lifeboat checkpoints with runc; another OCI runtime is not supported',
    (v) => v === undefined || v === null || v === '' || v === 'runc',
  ),
  'HostConfig.Isolation': refused(
    WINDOWS,
    (v) => v === undefined || v === null || v === '' || v === 'default',
  ),
  'HostConfig.CpuShares': h('resource_limits.cpu.shares'),
  'HostConfig.Memory': h('resource_limits.memory.limit (and the scheduler reserves it)'),
  'HostConfig.NanoCpus': h('resource_limits.cpu quota over a 100 ms period'),
  'HostConfig.CgroupParent': refused(
    "lifeboat puts every container under its host's cgroup (that is how a host's failure is fenced)",
  ),
  'HostConfig.BlkioWeight': h(
    "resource_limits.blockIO.weight; refused where the host's kernel has no I/O weight (Podman's warning becomes the 400)",
  ),
  'HostConfig.BlkioWeightDevice': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceReadBps': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceWriteBps': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceReadIOps': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceWriteIOps': refused(BLKIO_DEVICE),
  'HostConfig.CpuPeriod': h('resource_limits.cpu.period'),
  'HostConfig.CpuQuota': h('resource_limits.cpu.quota'),
  'HostConfig.CpuRealtimePeriod': refused('real-time CPU scheduling is not supported'),
  'HostConfig.CpuRealtimeRuntime': refused('real-time CPU scheduling is not supported'),
  'HostConfig.CpusetCpus': h('resource_limits.cpu.cpus'),
  'HostConfig.CpusetMems': h('resource_limits.cpu.mems'),
  'HostConfig.Devices': h('devices (PathOnHost:PathInContainer:CgroupPermissions)'),
  'HostConfig.DeviceCgroupRules': refused(
    'device cgroup rules are not supported; give the devices themselves in Devices',
  ),
  'HostConfig.DeviceRequests': refused('device requests (GPUs) are not supported'),
  'HostConfig.KernelMemory': refused('kernel memory limits are deprecated in Docker and not supported'),
  'HostConfig.KernelMemoryTCP': refused('kernel TCP memory limits are not supported'),
  'HostConfig.MemoryReservation': h('resource_limits.memory.reservation'),
  'HostConfig.MemorySwap': h('resource_limits.memory.swap (-1: unlimited)'),
  'HostConfig.MemorySwappiness': h('resource_limits.memory.swappiness (0-100; -1 the default)'),
  'HostConfig.OomKillDisable': h('resource_limits.memory.disableOOMKiller'),
  'HostConfig.Init': h("init (Podman's catatonit as PID 1, shown as podman-init)"),
  'HostConfig.PidsLimit': h('resource_limits.pids.limit (0 or -1: unlimited)'),
  'HostConfig.Ulimits': h(
    'r_limits; Podman sets the one of nofile and nproc left out to 1048576, which a host without CAP_SYS_RESOURCE refuses at start: give both there',
  ),
  'HostConfig.CpuCount': refused(WINDOWS),
  'HostConfig.CpuPercent': refused(WINDOWS),
  'HostConfig.IOMaximumIOps': refused(WINDOWS),
  'HostConfig.IOMaximumBandwidth': refused(WINDOWS),
  'HostConfig.Mounts': h(
    'mounts of Type bind (with ReadOnly and BindOptions.Propagation), volume (a named volume; ReadOnly, VolumeOptions.NoCopy and Labels; other drivers refused) and tmpfs (size, mode); npipe and cluster are refused',
  ),
  'HostConfig.MaskedPaths': refused(
    "changing the masked paths is not supported (Podman's defaults apply); use Privileged for an unmasked container",
    (v) => v === undefined || v === null,
  ),
  'HostConfig.ReadonlyPaths': refused(
    "changing the read-only paths is not supported (Podman's defaults apply); use Privileged",
    (v) => v === undefined || v === null,
  ),
};

const CANONICAL = new Map(Object.keys(CREATE_FIELDS).map((path) => [path.toLowerCase(), path]));

/**
 * dockerd decodes JSON with Go, which matches field names without regard
 * to case, and clients rely on it (docker-py sends `CPURealtimePeriod`):
 * the body's names become the table's spelling. A name given twice in two
 * spellings is a 400 rather than a silent pick.
 */
export function canonicalFieldNames(body: Record<string, unknown>): Record<string, unknown> {
  const rename = (o: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(o)) {
      const path = CANONICAL.get(`${prefix}${key}`.toLowerCase());
      const name = path ? path.slice(prefix.length) : key;
      if (name in out) throw new ValidationError(`${prefix}${name} is given twice (as ${name} and ${key})`);
      out[name] = value;
    }
    return out;
  };
  const out = rename(body, '');
  for (const nested of ['HostConfig', 'NetworkingConfig']) {
    const v = out[nested];
    if (v && typeof v === 'object' && !Array.isArray(v))
      out[nested] = rename(v as Record<string, unknown>, `${nested}.`);
  }
  return out;
}

/**
 * Docker's zero values: what a client sends for a setting it leaves alone.
 * Nesting deeper than any Engine API field counts as a value (and bounds
 * the recursion on hostile bodies).
 */
export function isZero(v: unknown, depth = 0): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return true;
  if (depth > 8 || typeof v !== 'object') return false;
  const values = Array.isArray(v) ? v : Object.values(v as object);
  return values.every((x) => isZero(x, depth + 1));
}

/**
 * Refuses, with the field's name and the reason, every field of the body
 * that is refused or unknown and asks for something. Fields at their zero
 * value pass: clients send the whole structure (the docker CLI sends every
 * HostConfig field, mostly empty).
 */
export function refuseUnsupportedFields(body: Record<string, unknown>): void {
  const check = (o: Record<string, unknown>, prefix: string): void => {
    for (const [key, value] of Object.entries(o)) {
      const path = `${prefix}${key}`;
      const rule = CREATE_FIELDS[path];
      if (!rule) {
        if (!isZero(value))
          throw new ValidationError(
            `${path} is not supported: lifeboat does not know this field of the Engine API ${API_VERSION} container create`,
            'leave it out; see docs/docker-create-fields.md for every field and what lifeboat does with it',
          );
        continue;
      }
      if (rule.status !== 'refused') continue;
      if ((rule.isDefault ?? isZero)(value)) continue;
      throw new ValidationError(`${path} is not supported: ${rule.text}`);
    }
  };
  check(body, '');
  const hc = body['HostConfig'];
  if (hc && typeof hc === 'object' && !Array.isArray(hc)) check(hc as Record<string, unknown>, 'HostConfig.');
  const nc = body['NetworkingConfig'];
  if (nc && typeof nc === 'object' && !Array.isArray(nc))
    check(nc as Record<string, unknown>, 'NetworkingConfig.');
}

const API_VERSION = 'v1.47';

const STATUS_WORD: Record<FieldStatus, string> = {
  honoured: 'honoured',
  client: 'client side',
  refused: 'refused (400)',
};

/** The Markdown table of docs/docker-create-fields.md. */
export function renderFieldTable(): string {
  const rows = Object.entries(CREATE_FIELDS).map(
    ([path, r]) => `| \`${path}\` | ${STATUS_WORD[r.status]} | ${r.text.replace(/\|/g, '\\|')} |`,
  );
  return ['| field | status | what lifeboat does |', '| --- | --- | --- |', ...rows].join('\n');
}
