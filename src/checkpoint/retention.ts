import { ValidationError } from '../util/errors.ts';

/**
 * Checkpoint numbering and retention of thesis Algorithm 1 (checkpoint
 * ticker), as a pure state machine: the ticker asks where the next dump goes
 * and which version groups to delete once it is stored. Each version group
 * is one directory that starts with a pre-dump opportunity; at most
 * `maxGroups` groups are kept per container.
 */

/** VG_i when the label does not set it (thesis 3.4.1). */
export const defaultVersionGroup = 5;
/** "if VG_i directory > 3 then delete oldest" (line 10). */
export const defaultMaxGroups = 3;

export interface TickerState {
  /** V_i: the version number the next dump gets. */
  readonly version: number;
  /** pre-dumpV_i: the version group the next dump goes into. */
  readonly group: number;
  /** Versions already stored in `group`. */
  readonly inGroup: number;
}

export interface RetentionConfig {
  /** VG_i: versions per group. */
  readonly versionGroup: number;
  readonly maxGroups?: number;
}

export interface CheckpointSlot {
  readonly group: number;
  readonly version: number;
  /** First dump of a new group: the moment to pre-dump (lines 6-8). */
  readonly startsGroup: boolean;
}

export interface TickPlan {
  readonly slot: CheckpointSlot;
  /** Oldest groups to delete, once the dump into `slot` has succeeded (lines 10-12). */
  readonly deleteAfterDump: readonly number[];
  /** The state after a successful dump; keep the old one if the dump failed, to retry the slot. */
  readonly next: TickerState;
}

function check(cfg: RetentionConfig): { vg: number; maxGroups: number } {
  const vg = cfg.versionGroup;
  const maxGroups = cfg.maxGroups ?? defaultMaxGroups;
  if (!Number.isSafeInteger(vg) || vg < 1) {
    throw new ValidationError(
      `version group must be a positive integer, got ${String(vg)}`,
      'e.g. lifeboat.checkpoint.version-group=5',
    );
  }
  if (!Number.isSafeInteger(maxGroups) || maxGroups < 1) {
    throw new ValidationError(`groups to keep must be a positive integer, got ${String(maxGroups)}`);
  }
  return { vg, maxGroups };
}

// Line 2: initial V_i = 0, pre-dumpV_i = 0.
export function initialTickerState(): TickerState {
  return { version: 0, group: 0, inGroup: 0 };
}

/**
 * The thesis tests `V_i % VG_i == 0` (lines 6, 14); counting the versions in
 * the group is the same while VG_i stays fixed, and stays right when the label
 * changes or a new leader resumes from what the store holds.
 */
function settle(state: TickerState, vg: number): TickerState {
  return state.inGroup >= vg ? { version: state.version, group: state.group + 1, inGroup: 0 } : state;
}

// Lines 6-9: a full (or no) group means a new group with a pre-dump, then dump V_i into it.
export function nextSlot(state: TickerState, cfg: RetentionConfig): CheckpointSlot {
  const s = settle(state, check(cfg).vg);
  return { group: s.group, version: s.version, startsGroup: s.inGroup === 0 };
}

// Lines 13-16: V_i = V_i + 1; a group that reached VG_i versions is closed (pre-dumpV_i + 1).
export function advance(state: TickerState, cfg: RetentionConfig): TickerState {
  const { vg } = check(cfg);
  const s = settle(state, vg);
  return settle({ version: s.version + 1, group: s.group, inGroup: s.inGroup + 1 }, vg);
}

// Lines 10-12: while more than maxGroups groups exist, delete the oldest; never the one being written.
export function groupsToDelete(
  groups: readonly number[],
  current: number,
  maxGroups = defaultMaxGroups,
): number[] {
  const all = [...new Set([...groups, current])].sort((a, b) => a - b);
  const excess = all.length - maxGroups;
  return excess > 0 ? all.filter((g) => g !== current).slice(0, excess) : [];
}

/** One ticker pound (lines 5-16): where to dump, what to delete after, and the state to continue from. */
export function planTick(
  state: TickerState,
  cfg: RetentionConfig,
  groupsOnDisk: readonly number[],
): TickPlan {
  const { maxGroups } = check(cfg);
  const slot = nextSlot(state, cfg);
  return {
    slot,
    deleteAfterDump: groupsToDelete(groupsOnDisk, slot.group, maxGroups),
    next: advance(state, cfg),
  };
}

/** What a checkpoint store lists for a container (structurally: CheckpointStore.list()). */
export interface StoredGroup {
  readonly group: number;
  readonly versions: readonly { readonly version: number }[];
}

/**
 * Continues numbering after what is already stored, e.g. when a new leader
 * restarts the tickers (thesis 3.4.3): versions keep growing, so restore
 * candidates stay ordered, and a part-filled newest group is filled up.
 */
export function resumeTickerState(stored: readonly StoredGroup[], cfg: RetentionConfig): TickerState {
  const { vg } = check(cfg);
  if (stored.length === 0) return initialTickerState();
  const newest = stored.reduce((a, b) => (b.group > a.group ? b : a));
  const versions = stored.flatMap((g) => g.versions.map((v) => v.version));
  const version = versions.length === 0 ? 0 : Math.max(...versions) + 1;
  return settle({ version, group: newest.group, inGroup: newest.versions.length }, vg);
}
