import type { ContainerCreateSpec } from '../engine/types.ts';

/**
 * Why a container cannot move live to another host, or undefined when it
 * can: what it uses of its host (a bind-mounted path, the host's network or
 * devices, another container's volumes, the host's namespaces) would not be
 * there on the target, or not the same. A bind of a path under one of
 * `sharedPaths` (storage every host mounts at the same place, declared with
 * `lifeboat manage --shared-path`) is the same on every host.
 */
export function moveBlocker(
  spec: ContainerCreateSpec,
  sharedPaths: readonly string[] = [],
): string | undefined {
  const binds = hostBinds(spec).filter((p) => !isShared(p, sharedPaths));
  if (binds.length) return `it bind-mounts ${binds.join(', ')} of its host`;
  if (spec.netns?.nsmode === 'host') return "it uses the host's network";
  if (spec.netns?.nsmode === 'container')
    return `it shares the network of container ${spec.netns.value ?? '?'}`;
  if (spec.devices?.length)
    return `it uses host devices (${spec.devices.map((d) => d.split(':')[0]).join(', ')})`;
  if (spec.volumesFrom?.length) return `it mounts the volumes of ${spec.volumesFrom.join(', ')}`;
  for (const ns of ['pidns', 'ipcns', 'utsns'] as const)
    if (spec[ns] === 'host') return `it shares the host's ${ns.replace('ns', '')} namespace`;
  return undefined;
}

/** Host paths the container bind-mounts (named volumes are not among them: they travel). */
export function hostBinds(spec: Pick<ContainerCreateSpec, 'binds' | 'mounts'>): string[] {
  return [
    ...(spec.binds ?? []).map((b) => b.split(':')[0]!),
    ...(spec.mounts ?? []).filter((m) => m.type === 'bind').map((m) => m.source),
  ];
}

export function isShared(path: string, sharedPaths: readonly string[]): boolean {
  return sharedPaths.some((s) => {
    const root = s.replace(/\/+$/, '');
    return path === root || path.startsWith(root + '/');
  });
}
