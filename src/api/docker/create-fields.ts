import { z } from 'zod';
import { ValidationError } from '../../util/errors.ts';
import { anyMap, bool, closed, consoleSize, int, isZero, str, strList, strMap } from './wire.ts';

export { isZero };

/**
 * Every field of the Engine API's ContainerCreate body (v1.47) and what
 * lifeboat does with it: the one place that says so. Each field's entry
 * declares its JSON type (a zod schema), its status and what lifeboat does
 * with it, and everything else comes from here:
 * - `createBodySchema`, the body's shape: the parser (create-body.ts) checks
 *   types with it before it applies Docker's rules to typed values;
 * - the refusals: a field this table marks refused (or does not know) is a
 *   400 unless its value asks for nothing;
 * - `docs/docker-create-fields.md` (a unit test keeps the two equal) and the
 *   JSON Schema the lifeboat OpenAPI document publishes;
 * - the integration test sends a value for each field.
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
  /** The JSON the field takes (absent: refused fields, and the nested objects built from their fields). */
  type?: z.ZodType;
  /** The values that ask for nothing; default: Docker's zero values (null, "", 0, false, empty lists and objects). */
  isDefault?: (v: unknown) => boolean;
}

const h = <S extends z.ZodType>(type: S, text: string) => ({ status: 'honoured' as const, text, type });
const client = <S extends z.ZodType>(type: S, text: string) => ({ status: 'client' as const, text, type });
const refused = (text: string, isDefault?: (v: unknown) => boolean): FieldRule =>
  isDefault ? { status: 'refused', text, isDefault } : { status: 'refused', text };
/** HostConfig and NetworkingConfig: objects of the fields below them. */
const nested = (text: string) => ({ status: 'honoured' as const, text });

/** The JSON types of the fields (with `nullish`: Docker's clients send null for what they leave alone). */
const T = {
  str,
  bool,
  int,
  strList,
  strMap,
  /** Cmd and Entrypoint: a list of strings, or (older clients) one string. */
  command: z.union([str, strList], { error: 'must be a list of strings (or one string)' }),
  /** ExposedPorts: {"80/tcp": {}} */
  portSet: anyMap,
  /** Volumes: {"/data": {}} */
  pathSet: anyMap,
  HEALTHCHECK: closed({
    Test: strList.nullish(),
    Interval: int.nullish(),
    Timeout: int.nullish(),
    StartPeriod: int.nullish(),
    StartInterval: int.nullish(),
    Retries: int.nullish(),
  }),
  ENDPOINTS: z.record(
    z.string(),
    z
      .looseObject(
        {
          Aliases: strList.nullish(),
          IPAMConfig: closed({ IPv4Address: str.nullish(), IPv6Address: str.nullish() }).nullish(),
          MacAddress: str.nullish(),
          NetworkID: str.nullish(),
        },
        { error: 'must be a JSON object' },
      )
      .nullable(),
    { error: 'must be a JSON object' },
  ),
  LOG_CONFIG: closed({ Type: str.nullish(), Config: strMap.nullish() }),
  PORT_BINDINGS: z.record(
    z.string(),
    z
      .array(closed({ HostIp: str.nullish(), HostPort: str.nullish() }), {
        error: 'must be a list of {HostIp, HostPort}',
      })
      .nullable(),
    { error: 'must be a JSON object' },
  ),
  RESTART_POLICY: closed({ Name: str.nullish(), MaximumRetryCount: int.nullish() }),
  CONSOLE_SIZE: consoleSize,
  DEVICES: z.array(
    closed({ PathOnHost: str.nullish(), PathInContainer: str.nullish(), CgroupPermissions: str.nullish() }),
    { error: 'must be a list' },
  ),
  ULIMITS: z.array(closed({ Name: str.nullish(), Soft: int.nullish(), Hard: int.nullish() }), {
    error: 'must be a list',
  }),
  MOUNTS: z.array(
    closed({
      Type: str.nullish(),
      Source: str.nullish(),
      Target: str.nullish(),
      ReadOnly: bool.nullish(),
      Consistency: z.unknown().optional(),
      BindOptions: closed({ Propagation: str.nullish() }).nullish(),
      VolumeOptions: closed({
        NoCopy: bool.nullish(),
        Labels: strMap.nullish(),
        DriverConfig: closed({ Name: str.nullish(), Options: strMap.nullish() }).nullish(),
      }).nullish(),
      TmpfsOptions: closed({ SizeBytes: int.nullish(), Mode: int.nullish() }).nullish(),
      ClusterOptions: z.unknown().optional(),
    }),
    { error: 'must be a list' },
  ),
};

const WINDOWS = 'a Windows-only setting; lifeboat runs Linux containers';
const BLKIO_DEVICE =
  "per-device I/O limits need the device's major:minor on the host the container lands on, which the client cannot know in a cluster; use BlkioWeight";
const NO_VOLUME_DRIVERS =
  "volumes use the local driver on the container's host (lifeboat moves their data with the container); other drivers are not supported";

/** Keys are paths in the body: `Hostname`, `HostConfig.CapAdd`, `NetworkingConfig.EndpointsConfig`. */
const FIELDS = {
  Hostname: h(T.str, 'hostname'),
  Domainname: refused(
    "Podman 4 cannot set a container's NIS domain name; put the domain in Hostname (a fully qualified name)",
  ),
  User: h(T.str, 'user'),
  AttachStdin: client(T.bool, 'the client attaches stdin after the create (docker run -i)'),
  AttachStdout: client(T.bool, 'the client attaches stdout after the create'),
  AttachStderr: client(T.bool, 'the client attaches stderr after the create'),
  ExposedPorts: h(T.portSet, 'expose (and the ports PublishAllPorts publishes)'),
  Tty: h(T.bool, 'terminal'),
  OpenStdin: h(T.bool, 'stdin'),
  StdinOnce: h(T.bool, "stdin closes when the attached client detaches (lifeboat's attach closes it)"),
  Env: h(T.strList, 'env; an entry without "=" sets nothing, as in Docker'),
  Cmd: h(T.command, 'command'),
  Healthcheck: h(
    T.HEALTHCHECK,
    "healthconfig: Test (NONE, CMD, CMD-SHELL), Interval, Timeout, StartPeriod, Retries; the host's agent runs each check on its interval (Podman 4 would need systemd timers) and Podman keeps the status docker inspect and docker ps show; StartInterval is refused",
  ),
  ArgsEscaped: refused(WINDOWS),
  Image: h(T.str, 'image (resolved by Podman, shipped to the chosen host when missing)'),
  Volumes: h(
    T.pathSet,
    'paths that a named volume or bind mount of the same create covers (as docker-compose sends them); an anonymous volume alone is refused: name it (-v NAME:/path) so it can travel',
  ),
  WorkingDir: h(T.str, 'work_dir'),
  Entrypoint: h(T.command, 'entrypoint ([""] clears the image\'s)'),
  NetworkDisabled: h(T.bool, 'netns none'),
  MacAddress: h(T.str, 'the static MAC address on the first network'),
  OnBuild: refused('ONBUILD triggers belong to image builds; lifeboat does not build images'),
  Labels: h(T.strMap, 'labels'),
  StopSignal: h(T.str, 'stop_signal'),
  StopTimeout: h(T.int, 'stop_timeout'),
  Shell: refused('SHELL belongs to image builds; lifeboat does not build images'),
  HostConfig: nested('see the HostConfig fields'),
  name: client(
    T.str,
    "dockerode repeats the ?name= query parameter in the body; the query's name is the one used",
  ),
  platform: refused(
    "a platform other than the hosts' own (linux) is not supported",
    (v) => v === undefined || v === null || v === '' || v === 'linux' || v === 'linux/amd64',
  ),
  NetworkingConfig: nested('see NetworkingConfig.EndpointsConfig'),
  'NetworkingConfig.EndpointsConfig': h(
    T.ENDPOINTS,
    "the networks to join: the host's default (MacAddress only) or user-defined networks of the cluster, with Aliases, IPAMConfig addresses and MacAddress; Links and DriverOpts are refused. The container is placed on the host of its networks",
  ),

  'HostConfig.Binds': h(
    T.strList,
    'bind mounts of absolute host paths and named volumes (NAME:/path, created on first use, on the host the container is placed on or pinning it to the host that has the volume); options ro, rw, z, Z, nocopy and the propagation modes',
  ),
  'HostConfig.ContainerIDFile': client(T.str, 'the docker CLI writes the file itself'),
  'HostConfig.LogConfig': h(
    T.LOG_CONFIG,
    'log_configuration: json-file (Podman k8s-file, shown as json-file), k8s-file, none; option max-size',
  ),
  'HostConfig.NetworkMode': h(
    T.str,
    'netns: bridge/default, host, none, container:<name|id>, or the name of a user-defined network of the cluster (docker network create)',
  ),
  'HostConfig.PortBindings': h(T.PORT_BINDINGS, "portmappings (a host's address, or all of them)"),
  'HostConfig.RestartPolicy': h(
    T.RESTART_POLICY,
    'restart_policy and restart_tries: no, always, unless-stopped, on-failure[:N]',
  ),
  'HostConfig.AutoRemove': h(T.bool, 'remove'),
  'HostConfig.VolumeDriver': refused(NO_VOLUME_DRIVERS, (v) => isZero(v) || v === 'local'),
  'HostConfig.VolumesFrom': h(T.strList, 'volumes_from (the source must be on the same host)'),
  'HostConfig.ConsoleSize': h(T.CONSOLE_SIZE, "the TTY's size, set right after the container starts"),
  'HostConfig.Annotations': h(
    T.strMap,
    'annotations (keys under org.criu., io.podman.annotations. and lifeboat. are refused: they change how CRIU, Podman and lifeboat treat the container)',
  ),
  'HostConfig.CapAdd': h(T.strList, 'cap_add'),
  'HostConfig.CapDrop': h(T.strList, 'cap_drop'),
  'HostConfig.CgroupnsMode': h(T.str, 'cgroupns: private or host'),
  'HostConfig.Dns': h(T.strList, 'dns_server'),
  'HostConfig.DnsOptions': h(T.strList, 'dns_option'),
  'HostConfig.DnsSearch': h(T.strList, 'dns_search'),
  'HostConfig.ExtraHosts': h(T.strList, 'hostadd'),
  'HostConfig.GroupAdd': h(T.strList, 'groups'),
  'HostConfig.IpcMode': h(T.str, 'ipcns: private, shareable, none, host (container:<x> is refused)'),
  'HostConfig.Cgroup': refused('a cgroup namespace path is not supported; use CgroupnsMode'),
  'HostConfig.Links': h(T.strList, "/etc/hosts entries for the target's address, at create time"),
  'HostConfig.OomScoreAdj': h(T.int, 'oom_score_adj'),
  'HostConfig.PidMode': h(T.str, 'pidns: private or host (container:<x> is refused)'),
  'HostConfig.Privileged': h(T.bool, 'privileged'),
  'HostConfig.PublishAllPorts': h(T.bool, 'publish_image_ports'),
  'HostConfig.ReadonlyRootfs': h(T.bool, 'read_only_filesystem'),
  'HostConfig.SecurityOpt': h(
    T.strList,
    'no-new-privileges[:true|false] -> no_new_privileges; seccomp=unconfined; apparmor=<profile>; label=disable|user:|role:|type:|level: -> selinux_opts; others refused',
  ),
  'HostConfig.StorageOpt': refused(
    "storage options depend on each host's storage driver and do not travel with a migration",
  ),
  'HostConfig.Tmpfs': h(T.strMap, 'tmpfs mounts with their options'),
  'HostConfig.UTSMode': h(T.str, 'utsns: private or host'),
  'HostConfig.UsernsMode': refused(
    'user namespaces are not supported: CRIU restores on another host need the same ID mapping there',
    (v) => v === undefined || v === null || v === '' || v === 'host',
  ),
  'HostConfig.ShmSize': h(T.int, 'shm_size'),
  'HostConfig.Sysctls': h(T.strMap, 'sysctl'),
  'HostConfig.Runtime': refused(
    'lifeboat checkpoints with runc; another OCI runtime is not supported',
    (v) => v === undefined || v === null || v === '' || v === 'runc',
  ),
  'HostConfig.Isolation': refused(
    WINDOWS,
    (v) => v === undefined || v === null || v === '' || v === 'default',
  ),
  'HostConfig.CpuShares': h(T.int, 'resource_limits.cpu.shares'),
  'HostConfig.Memory': h(T.int, 'resource_limits.memory.limit (and the scheduler reserves it)'),
  'HostConfig.NanoCpus': h(T.int, 'resource_limits.cpu quota over a 100 ms period'),
  'HostConfig.CgroupParent': refused(
    "lifeboat puts every container under its host's cgroup (that is how a host's failure is fenced)",
  ),
  'HostConfig.BlkioWeight': h(
    T.int,
    "resource_limits.blockIO.weight; refused where the host's kernel has no I/O weight (Podman's warning becomes the 400)",
  ),
  'HostConfig.BlkioWeightDevice': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceReadBps': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceWriteBps': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceReadIOps': refused(BLKIO_DEVICE),
  'HostConfig.BlkioDeviceWriteIOps': refused(BLKIO_DEVICE),
  'HostConfig.CpuPeriod': h(T.int, 'resource_limits.cpu.period'),
  'HostConfig.CpuQuota': h(T.int, 'resource_limits.cpu.quota'),
  'HostConfig.CpuRealtimePeriod': refused('real-time CPU scheduling is not supported'),
  'HostConfig.CpuRealtimeRuntime': refused('real-time CPU scheduling is not supported'),
  'HostConfig.CpusetCpus': h(T.str, 'resource_limits.cpu.cpus'),
  'HostConfig.CpusetMems': h(T.str, 'resource_limits.cpu.mems'),
  'HostConfig.Devices': h(T.DEVICES, 'devices (PathOnHost:PathInContainer:CgroupPermissions)'),
  'HostConfig.DeviceCgroupRules': refused(
    'device cgroup rules are not supported; give the devices themselves in Devices',
  ),
  'HostConfig.DeviceRequests': refused('device requests (GPUs) are not supported'),
  'HostConfig.KernelMemory': refused('kernel memory limits are deprecated in Docker and not supported'),
  'HostConfig.KernelMemoryTCP': refused('kernel TCP memory limits are not supported'),
  'HostConfig.MemoryReservation': h(T.int, 'resource_limits.memory.reservation'),
  'HostConfig.MemorySwap': h(T.int, 'resource_limits.memory.swap (-1: unlimited)'),
  'HostConfig.MemorySwappiness': h(T.int, 'resource_limits.memory.swappiness (0-100; -1 the default)'),
  'HostConfig.OomKillDisable': h(T.bool, 'resource_limits.memory.disableOOMKiller'),
  'HostConfig.Init': h(T.bool, "init (Podman's catatonit as PID 1, shown as podman-init)"),
  'HostConfig.PidsLimit': h(T.int, 'resource_limits.pids.limit (0 or -1: unlimited)'),
  'HostConfig.Ulimits': h(
    T.ULIMITS,
    'r_limits; Podman sets the one of nofile and nproc left out to 1048576, which a host without CAP_SYS_RESOURCE refuses at start: give both there',
  ),
  'HostConfig.CpuCount': refused(WINDOWS),
  'HostConfig.CpuPercent': refused(WINDOWS),
  'HostConfig.IOMaximumIOps': refused(WINDOWS),
  'HostConfig.IOMaximumBandwidth': refused(WINDOWS),
  'HostConfig.Mounts': h(
    T.MOUNTS,
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
} satisfies Record<string, FieldRule>;

export const CREATE_FIELDS: Readonly<Record<string, FieldRule>> = FIELDS;

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

type Fields = typeof FIELDS;
type Wire<R> = R extends { type: infer S extends z.ZodType } ? S : z.ZodUnknown;
/** The typed shape of one level: the fields under `P` (not deeper), each nullish. */
type Level<P extends string> = {
  -readonly [
    K in keyof Fields as K extends `${P}${infer R}` ? (R extends `${string}.${string}` ? never : R) : never
  ]: z.ZodOptional<z.ZodNullable<Wire<Fields[K]>>>;
};

/** The fields of one level of the body (`''`, `'HostConfig.'`, `'NetworkingConfig.'`), typed and described. */
function levelShape(prefix: string): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const [path, rule] of Object.entries(CREATE_FIELDS)) {
    if (!path.startsWith(prefix) || path.slice(prefix.length).includes('.')) continue;
    const key = path.slice(prefix.length);
    shape[key] = (rule.type ?? z.unknown())
      .nullish()
      .meta({ description: rule.text, 'x-lifeboat-status': rule.status });
  }
  return shape;
}

export const hostConfigSchema = z.looseObject(levelShape('HostConfig.') as Level<'HostConfig.'>, {
  error: 'must be a JSON object',
});
const networkingConfigSchema = z.looseObject(levelShape('NetworkingConfig.') as Level<'NetworkingConfig.'>, {
  error: 'must be a JSON object',
});
const top = levelShape('') as Omit<Level<''>, 'HostConfig' | 'NetworkingConfig'>;

/**
 * The ContainerCreate body's shape, from the table: what the parser checks
 * first (after the names are canonical and the refusals are done), and what
 * the OpenAPI document publishes. Unknown fields were refused before unless
 * zero, so the objects let them pass.
 */
export const createBodySchema = z.looseObject(
  {
    ...top,
    HostConfig: hostConfigSchema
      .nullish()
      .meta({ description: FIELDS.HostConfig.text, 'x-lifeboat-status': 'honoured' }),
    NetworkingConfig: networkingConfigSchema
      .nullish()
      .meta({ description: FIELDS.NetworkingConfig.text, 'x-lifeboat-status': 'honoured' }),
  },
  { error: 'must be a JSON object' },
);
export type CreateBodyWire = z.output<typeof createBodySchema>;
export type HostConfigWire = z.output<typeof hostConfigSchema>;
