import { ValidationError } from '../util/errors.ts';
import { parseDuration } from './duration.ts';

/**
 * The thesis' per-container knobs, set at create time as labels (or as env
 * entries, which the manager turns into these labels):
 *   lifeboat.checkpoint.interval=30s        checkpoint ticker T_i (Algorithm 1, line 1)
 *   lifeboat.checkpoint.version-group=5     VG_i, versions per group (default 5)
 *   lifeboat.reschedule=checkpoint          restore policy R_i (Algorithm 2, line 1)
 * Swarm's own `reschedule:on-node-failure` (label com.docker.swarm.reschedule-policies)
 * restarts the container elsewhere without its state.
 */
export const LABEL_INTERVAL = 'lifeboat.checkpoint.interval';
export const LABEL_VERSION_GROUP = 'lifeboat.checkpoint.version-group';
export const LABEL_RESCHEDULE = 'lifeboat.reschedule';
export const SWARM_RESCHEDULE_LABEL = 'com.docker.swarm.reschedule-policies';

export const DEFAULT_VERSION_GROUP = 5;
export const MIN_INTERVAL_MS = 1000;
/**
 * A day: a checkpoint less often protects little, and Node's timers take at
 * most 2^31-1 ms (beyond, they fire every millisecond: the container would be
 * frozen and dumped back to back).
 */
export const MAX_INTERVAL_MS = 24 * 3600 * 1000;
export const MAX_VERSION_GROUP = 100;

export type RestorePolicy = 'checkpoint' | 'on-node-failure';

export interface TickerConfig {
  intervalMs: number;
  versionGroup: number;
}

export function tickerConfigOf(labels: Record<string, string> | null | undefined): TickerConfig | undefined {
  const interval = labels?.[LABEL_INTERVAL];
  if (interval === undefined || interval === '') return undefined;
  const intervalMs = parseDuration(interval, LABEL_INTERVAL);
  if (intervalMs < MIN_INTERVAL_MS) {
    throw new ValidationError(`${LABEL_INTERVAL}=${interval}: the interval must be at least 1s`);
  }
  if (intervalMs > MAX_INTERVAL_MS) {
    throw new ValidationError(
      `${LABEL_INTERVAL}=${interval}: the interval must be at most 24h`,
      'checkpoints further apart than a day protect little; use 24h or less',
    );
  }
  const vgText = labels?.[LABEL_VERSION_GROUP];
  const versionGroup = vgText === undefined || vgText === '' ? DEFAULT_VERSION_GROUP : Number(vgText);
  if (!Number.isInteger(versionGroup) || versionGroup < 1 || versionGroup > MAX_VERSION_GROUP) {
    throw new ValidationError(
      `${LABEL_VERSION_GROUP}=${vgText}: expected a whole number from 1 to ${MAX_VERSION_GROUP}`,
    );
  }
  return { intervalMs, versionGroup };
}

export function restorePolicyOf(
  labels: Record<string, string> | null | undefined,
): RestorePolicy | undefined {
  const own = labels?.[LABEL_RESCHEDULE];
  if (own !== undefined && own !== '') {
    if (own === 'checkpoint' || own === 'on-node-failure') return own;
    if (own === 'off' || own === 'no') return undefined;
    throw new ValidationError(`${LABEL_RESCHEDULE}=${own}: expected checkpoint, on-node-failure or off`);
  }
  const swarm = labels?.[SWARM_RESCHEDULE_LABEL];
  if (swarm) {
    try {
      const list = JSON.parse(swarm) as unknown;
      if (Array.isArray(list) && list.includes('on-node-failure')) return 'on-node-failure';
    } catch {
      if (swarm === 'on-node-failure') return 'on-node-failure';
    }
  }
  return undefined;
}

/** Validates the lifeboat labels of a create request (400 on a bad value). */
export function validatePolicyLabels(labels: Record<string, string> | null | undefined): void {
  tickerConfigOf(labels);
  restorePolicyOf(labels);
}
