import type { DockerFilters, DockerImageSummary } from './types.ts';

export const IMAGE_FILTER_KEYS = ['reference', 'dangling', 'label'] as const;

/**
 * `reference` is a glob over `repo[:tag]`, also tried against the last path
 * component of the repository, so `docker images busybox` finds
 * `localhost/lifeboat/busybox:latest` as it finds `docker.io/library/busybox`.
 */
export function matchesImageFilters(img: DockerImageSummary, f: DockerFilters): boolean {
  const refs = f['reference'];
  if (refs?.length && !refs.some((r) => img.RepoTags.some((t) => referenceMatch(r, t)))) return false;
  const dangling = f['dangling'];
  if (dangling?.length) {
    const isDangling = img.RepoTags.length === 0 || img.RepoTags.every((t) => t === '<none>:<none>');
    if (!dangling.some((d) => (d === 'true' || d === '1') === isDangling)) return false;
  }
  const labels = f['label'];
  if (labels?.length) {
    for (const l of labels) {
      const eq = l.indexOf('=');
      if (eq < 0 ? !Object.hasOwn(img.Labels, l) : img.Labels[l.slice(0, eq)] !== l.slice(eq + 1))
        return false;
    }
  }
  return true;
}

export function referenceMatch(pattern: string, repoTag: string): boolean {
  const colon = repoTag.lastIndexOf(':');
  const repo = colon > repoTag.lastIndexOf('/') ? repoTag.slice(0, colon) : repoTag;
  const tag = colon > repoTag.lastIndexOf('/') ? repoTag.slice(colon + 1) : 'latest';
  const short = repo.slice(repo.lastIndexOf('/') + 1);
  const re = globToRegExp(pattern);
  return [repoTag, repo, `${short}:${tag}`, short].some((c) => re.test(c));
}

function globToRegExp(glob: string): RegExp {
  const body = glob
    .split('')
    .map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '[^/]' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}
