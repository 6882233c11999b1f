import type { DockerContainerStatus } from './types.ts';

/** docker/go-units HumanDuration: the wording `docker ps` shows. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** The Status column of `docker ps`: `Up 3 minutes`, `Exited (137) 5 seconds ago`, `Created`. */
export function statusText(s: {
  state: DockerContainerStatus;
  /** epoch ms; undefined when unknown */
  startedAt: number | undefined;
  finishedAt: number | undefined;
  exitCode: number;
  now: number;
  /** A health check's status (Podman lists it as the entry's Status): shown as dockerd shows it. */
  health?: string;
}): string {
  switch (s.state) {
    case 'running':
      return (
        (s.startedAt === undefined ? 'Up' : `Up ${humanDuration(s.now - s.startedAt)}`) +
        healthSuffix(s.health)
      );
    case 'paused':
      return s.startedAt === undefined ? 'Up (Paused)' : `Up ${humanDuration(s.now - s.startedAt)} (Paused)`;
    case 'restarting':
      return `Restarting (${s.exitCode})`;
    case 'exited':
      return s.finishedAt === undefined
        ? `Exited (${s.exitCode})`
        : `Exited (${s.exitCode}) ${humanDuration(s.now - s.finishedAt)} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    case 'created':
      return 'Created';
  }
}

function healthSuffix(h: string | undefined): string {
  if (h === 'starting') return ' (health: starting)';
  if (h === 'healthy' || h === 'unhealthy') return ` (${h})`;
  return '';
}
