/**
 * Dependencies: a container started with --volumes-from=A, --link=B:alias or --net=container:C
 * must run on the node where A, B and C are (Swarm's dependency filter).
 */
import { listNodes } from '../describe.ts';
import type { ContainerRequest, SchedContainer, SchedNode } from '../types.ts';
import type { Filter } from './filter.ts';

export interface Dependency {
  /** As the user wrote it, e.g. '--link=db:db'. */
  spec: string;
  /** The container referred to: a name, an ID or an ID prefix. */
  ref: string;
}

export function dependenciesOf(req: ContainerRequest): Dependency[] {
  const deps: Dependency[] = [];
  for (const v of req.volumesFrom) deps.push({ spec: `--volumes-from=${v}`, ref: refOf(v) });
  for (const l of req.links) deps.push({ spec: `--link=${l}`, ref: refOf(l) });
  const net = req.networkMode ?? '';
  if (net.startsWith('container:')) deps.push({ spec: `--net=${net}`, ref: net.slice('container:'.length) });
  return deps.filter((d) => d.ref !== '');
}

// 'db:alias', '/db:/web/db' and 'data:ro' all name their container before the first ':'.
function refOf(spec: string): string {
  return (spec.split(':')[0] ?? '').replace(/^\//, '');
}

const stripSlash = (name: string): string => name.replace(/^\//, '');

/**
 * The container `ref` designates on this node, resolved as Docker and Swarm do: full or short
 * (12-character) ID, then name (also as 'node/name'), then a unique ID prefix. Ambiguity is no match.
 */
export function findContainer(node: SchedNode, ref: string): SchedContainer | undefined {
  if (ref === '') return undefined;
  const byId = node.containers.find((c) => c.id === ref || c.id.slice(0, 12) === ref);
  if (byId) return byId;
  const wanted = stripSlash(ref);
  const byName = node.containers.filter((c) => {
    const name = stripSlash(c.name);
    return name === wanted || `${node.name}/${name}` === wanted || `${node.id}/${name}` === wanted;
  });
  if (byName.length > 0) return byName.length === 1 ? byName[0] : undefined;
  const byPrefix = node.containers.filter((c) => c.id.startsWith(ref));
  return byPrefix.length === 1 ? byPrefix[0] : undefined;
}

export const dependencyFilter: Filter = {
  name: 'dependency',
  hint: 'Start the containers it depends on first, on one node; `docker ps -a` shows where each one is.',
  filter: (req, _parsed, nodes) => {
    const deps = dependenciesOf(req);
    if (deps.length === 0) return nodes;
    return nodes.filter((n) => deps.every((d) => findContainer(n, d.ref) !== undefined));
  },
  conditions: (req) => dependenciesOf(req).map((d) => d.spec),
  explain: (req, _parsed, nodes) => {
    const where = dependenciesOf(req).map((d) => {
      const hosts = nodes.filter((n) => findContainer(n, d.ref) !== undefined);
      return `${d.spec} (${hosts.length > 0 ? `on ${listNodes(hosts)}` : 'on no candidate node'})`;
    });
    return `no candidate node holds every dependency: ${where.join(', ')}`;
  },
};
