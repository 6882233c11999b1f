/** Wording shared by the scheduler's explanations, so every "why not" reads the same way. */
import type { SchedNode } from './types.ts';

const MAX_LISTED = 8;

/** `n1, n2 (region=us)`; long lists are cut with "and N more" to keep errors readable. */
export function listNodes(
  nodes: readonly SchedNode[],
  detail?: (node: SchedNode) => string | undefined,
): string {
  const shown = nodes.slice(0, MAX_LISTED).map((n) => {
    const d = detail?.(n);
    return d === undefined || d === '' ? n.name : `${n.name} (${d})`;
  });
  const more = nodes.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = Number.isInteger(value) ? String(value) : value.toFixed(1).replace(/\.0$/, '');
  return `${rounded} ${units[unit]}`;
}

export function formatCpus(cpus: number): string {
  return `${cpus} CPU${cpus === 1 ? '' : 's'}`;
}
