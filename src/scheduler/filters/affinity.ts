/**
 * Affinities: place a container next to (`==`) or away from (`!=`) other containers, by container
 * name or ID (`container`), by an image present on the node (`image`), or by a label of the
 * containers there (any other key). Stopped containers count, as in Swarm.
 */
import { listNodes } from '../describe.ts';
import {
  formatExpression,
  lookupLabel,
  matchExpression,
  narrowByExpressions,
  type Expression,
} from '../expression.ts';
import type { SchedContainer, SchedImage, SchedNode } from '../types.ts';
import type { Filter } from './filter.ts';

/** Length of the short IDs `docker ps` and `docker images` show; shorter prefixes never match an ID. */
const SHORT_ID = 12;

// A short ID copied from `docker ps` has to match the full ID the engine reports; requiring 12 hex
// digits keeps a name like `db` from matching an ID that happens to start with db.
function idForms(id: string, expr: Expression): string[] {
  const bare = id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
  const forms = bare === id ? [id] : [id, bare];
  if (expr.literal && expr.value.length >= SHORT_ID && /^[0-9a-f]+$/i.test(expr.value)) {
    forms.push(bare.slice(0, expr.value.length));
  }
  return forms;
}

/** 'docker.io/library/redis:7@sha256:..' -> 'docker.io/library/redis' (Swarm's ParseRepositoryTag). */
export function repositoryOf(name: string): string {
  const noDigest = name.split('@')[0] ?? name;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

// Podman reports fully qualified names; users write `redis` as they would with Docker.
function nameForms(name: string): string[] {
  const forms = [name, repositoryOf(name)];
  for (const prefix of ['docker.io/library/', 'docker.io/', 'localhost/']) {
    if (name.startsWith(prefix)) {
      const short = name.slice(prefix.length);
      forms.push(short, repositoryOf(short));
      break;
    }
  }
  return forms;
}

function containerValues(c: SchedContainer, expr: Expression): string[] {
  return [...idForms(c.id, expr), c.name.replace(/^\//, '')];
}

function imageValues(img: SchedImage, expr: Expression): string[] {
  return [...idForms(img.id, expr), ...img.names.flatMap(nameForms)];
}

export function affinityMatches(expr: Expression, node: SchedNode): boolean {
  switch (expr.key.toLowerCase()) {
    case 'container':
      return matchExpression(
        expr,
        node.containers.flatMap((c) => containerValues(c, expr)),
      );
    case 'image':
      return matchExpression(
        expr,
        node.images.flatMap((img) => imageValues(img, expr)),
      );
    default:
      return matchExpression(
        expr,
        node.containers.map((c) => lookupLabel(c.labels, expr.key) ?? ''),
      );
  }
}

function what(expr: Expression): string {
  switch (expr.key.toLowerCase()) {
    case 'container':
      return `a container matching ${expr.value}`;
    case 'image':
      return `an image matching ${expr.value}`;
    default:
      return `a container labelled ${expr.key} matching ${expr.value}`;
  }
}

export const affinityFilter: Filter = {
  name: 'affinity',
  hint: 'Check where the containers and images named in the affinities are (`docker ps -a`, `docker images`); make an affinity soft with ==~ or !=~ to prefer rather than require it.',
  filter: (_req, parsed, nodes) => narrowByExpressions(parsed.affinities, nodes, affinityMatches).remaining,
  conditions: (_req, parsed) => parsed.affinities.map(formatExpression),
  explain: (_req, parsed, nodes) => {
    const { failed, before } = narrowByExpressions(parsed.affinities, nodes, affinityMatches);
    if (failed === undefined) return 'no node satisfies the affinities';
    return failed.operator === '=='
      ? `${formatExpression(failed)}: no candidate node has ${what(failed)} (checked ${listNodes(before)})`
      : `${formatExpression(failed)}: every candidate node has ${what(failed)} (${listNodes(before)})`;
  },
};
