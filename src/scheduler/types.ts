/**
 * The scheduler's view of the cluster and of a container to place. Callers (the manager's
 * create, migrate and restore paths) build these from cluster state; the scheduler only reads them.
 */

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/**
 * One host port a container holds or asks for. With `--net=host` there is no mapping: put each
 * exposed port here with hostPort = the port, so host-mode and bridge-mode ports conflict alike.
 */
export interface PortBinding {
  /** Port on the host; 0 means "let the engine pick one", which can never conflict. */
  hostPort: number;
  /** Default 'tcp'. */
  protocol?: PortProtocol;
  /** Host address bound; '', '0.0.0.0' and '::' mean every interface. */
  hostIp?: string;
  containerPort?: number;
}

export interface SchedContainer {
  id: string;
  /** Without the leading '/' Docker puts in front of names (a leading '/' is tolerated). */
  name: string;
  image: string;
  imageId?: string;
  labels: Record<string, string>;
  /** Host ports held, whether the container runs or not: a stopped container still owns its ports. */
  ports: PortBinding[];
  /** CPUs reserved, read as Swarm classic read `docker run -c`: a number of CPUs, not relative shares. */
  cpuShares?: number;
  memoryBytes?: number;
  /** Undefined means running. */
  running?: boolean;
}

export interface SchedImage {
  /** e.g. 'sha256:06a1f75304ba...' */
  id: string;
  /** Repository tags, e.g. 'docker.io/library/redis:7' or 'redis:latest'. */
  names: string[];
}

export interface SchedNode {
  id: string;
  /** Matched by `constraint:node==NAME` (as is the id). */
  name: string;
  address: string;
  /**
   * Matched by `constraint:KEY==VALUE`: the standard tags in NodeLabel, filled in from the
   * engine's info, plus custom labels (`lifeboat agent --label region=eu`).
   */
  labels: Record<string, string>;
  cpus: number;
  memoryBytes: number;
  healthy: boolean;
  /** `drain`: an operator is emptying the node; it takes no new container (Swarm mode's node availability). */
  availability?: 'active' | 'drain';
  /** Every container on the node, stopped ones included (they keep ports, slots and reservations). */
  containers: SchedContainer[];
  images: SchedImage[];
}

/** Standard node labels (Swarm's "default tags"), usable in constraints like custom labels. */
export const NodeLabel = {
  storageDriver: 'storagedriver',
  kernelVersion: 'kernelversion',
  operatingSystem: 'operatingsystem',
  architecture: 'architecture',
  /** Maximum number of running containers on the node (containerslots filter). */
  containerSlots: 'containerslots',
} as const;

export interface ContainerRequest {
  name?: string;
  image: string;
  /** As given to `docker run -e`; may hold `constraint:`, `affinity:` and `reschedule:` entries. */
  env: string[];
  /** May hold com.docker.swarm.constraints / .affinities / .reschedule-policies (JSON arrays). */
  labels: Record<string, string>;
  /** CPUs to reserve (Swarm's reading of `docker run -c`). */
  cpuShares?: number;
  memoryBytes?: number;
  portBindings: PortBinding[];
  /** `name:alias` (Docker's internal '/name:/child/alias' form is accepted too). */
  links: string[];
  /** `name` or `name:ro|rw`. */
  volumesFrom: string[];
  /** 'bridge', 'host', 'container:NAME', ... */
  networkMode?: string;
}
