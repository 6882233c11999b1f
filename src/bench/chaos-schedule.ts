import { mulberry32 } from '../util/prng.ts';

/**
 * The chaos bench's fault plan: a seeded PRNG draws every fault (kind,
 * target, how long it lasts, whether the next one overlaps it) before the
 * run starts, so `--seed S` replays the same faults in the same order and a
 * violation at fault k replays with `--seed S --faults k+2` (the fault and
 * the one that may overlap it; the plan of fewer faults is a prefix of the
 * plan of more). What the cluster makes of them varies with timing.
 */

export type FaultKind =
  | 'power-loss'
  | 'partition'
  | 'reboot'
  | 'agent-kill'
  | 'manager-kill'
  | 'etcd-kill'
  | 'slow-disk'
  | 'store-full';

export const FAULT_KINDS: readonly FaultKind[] = [
  'power-loss',
  'partition',
  'reboot',
  'agent-kill',
  'manager-kill',
  'etcd-kill',
  'slow-disk',
  'store-full',
];

/** Faults that take (part of) a host away; the others hit the control plane or the store. */
const HOST_FAULTS: ReadonlySet<FaultKind> = new Set([
  'power-loss',
  'partition',
  'reboot',
  'agent-kill',
  'slow-disk',
]);

export function isHostFault(k: FaultKind): boolean {
  return HOST_FAULTS.has(k);
}

/** How often each kind is drawn, relative to the others. */
const WEIGHTS: Record<FaultKind, number> = {
  'power-loss': 3,
  partition: 3,
  reboot: 2,
  'agent-kill': 2,
  'manager-kill': 2,
  'etcd-kill': 2,
  'slow-disk': 2,
  'store-full': 1,
};

/** [min, max] ms a fault lasts before it is undone (a power-lost host boots, a partition heals ...). */
export const HOLD_MS: Record<FaultKind, readonly [number, number]> = {
  // both sides of the failure timeout: a host back before it and one back after the restores
  'power-loss': [2_000, 12_000],
  partition: [1_000, 12_000],
  // a power cycle: killed and booted at once
  reboot: [0, 0],
  // an init system restarting the agent (systemd Restart=always) at once, or only after the
  // failure timeout: then the fence guard must have stopped its containers before their restore
  'agent-kill': [1_000, 9_000],
  'manager-kill': [2_000, 10_000],
  'etcd-kill': [2_000, 8_000],
  'slow-disk': [4_000, 12_000],
  'store-full': [4_000, 10_000],
};

export interface PlannedFault {
  /** 0-based position in the plan: what a violation names for replay. */
  index: number;
  kind: FaultKind;
  /** Host name, manager role (manager-2) or etcd role (etcd-...); `store` for store-full. */
  target: string;
  holdMs: number;
}

/** One or two faults; the second starts `delayMs` after the first, while the first still holds. */
export interface ChaosStep {
  faults: PlannedFault[];
  delayMs: number;
}

export interface PlanInput {
  seed: number;
  faults: number;
  hosts: readonly string[];
  /** Manager roles (manager-1, manager-2). */
  managers: readonly string[];
  /** etcd member roles. */
  etcdMembers: readonly string[];
  /** Kinds this run can inject; the others are skipped (and said so by the caller). */
  kinds: readonly FaultKind[];
  /** Hosts that must stay untouched by every fault of a step, so restores have somewhere to go (default 2). */
  minHealthyHosts?: number;
  /** Chance that the next fault overlaps the current one (default 0.3). */
  overlap?: number;
}

/** The plan's PRNG: the same seed gives the same faults everywhere. */
export const prng = mulberry32;

/**
 * Draws the plan. Constraints hold for every step: at most two faults at a
 * time, at least `minHealthyHosts` hosts untouched, never both managers nor
 * two etcd members (quorum) down together, never one target twice.
 */
export function planChaos(p: PlanInput): ChaosStep[] {
  const rnd = prng(p.seed);
  const minHealthy = p.minHealthyHosts ?? 2;
  const overlap = p.overlap ?? 0.3;
  const between = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

  const targetsFor = (k: FaultKind, busy: readonly PlannedFault[]): string[] => {
    const taken = new Set(busy.map((f) => f.target));
    if (isHostFault(k)) {
      const hostsBusy = busy.filter((f) => isHostFault(f.kind)).length;
      if (p.hosts.length - hostsBusy - 1 < minHealthy) return [];
      return p.hosts.filter((h) => !taken.has(h));
    }
    if (k === 'manager-kill')
      return busy.some((f) => f.kind === 'manager-kill') || p.managers.length < 2 ? [] : [...p.managers];
    if (k === 'etcd-kill')
      return busy.some((f) => f.kind === 'etcd-kill') || p.etcdMembers.length < 3 ? [] : [...p.etcdMembers];
    return taken.has('store') ? [] : ['store'];
  };

  const draw = (index: number, busy: readonly PlannedFault[]): PlannedFault | undefined => {
    const options = p.kinds.filter((k) => targetsFor(k, busy).length > 0);
    if (options.length === 0) return undefined;
    const total = options.reduce((s, k) => s + WEIGHTS[k], 0);
    let r = rnd() * total;
    let kind = options[options.length - 1]!;
    for (const k of options) {
      r -= WEIGHTS[k];
      if (r < 0) {
        kind = k;
        break;
      }
    }
    const target = pick(targetsFor(kind, busy));
    const [lo, hi] = HOLD_MS[kind];
    return { index, kind, target, holdMs: between(lo, hi) };
  };

  const steps: ChaosStep[] = [];
  let index = 0;
  while (index < p.faults) {
    const first = draw(index, []);
    if (!first) break;
    index++;
    const step: ChaosStep = { faults: [first], delayMs: 0 };
    // the overlap draw happens whether or not a fault is left, so fewer faults plan a prefix of more
    const wantOverlap = rnd() < overlap;
    const delay = first.holdMs > 500 ? between(0, first.holdMs - 500) : 0;
    if (wantOverlap && index < p.faults && first.holdMs > 500) {
      const second = draw(index, [first]);
      if (second) {
        step.faults.push(second);
        step.delayMs = delay;
        index++;
      }
    }
    steps.push(step);
  }
  return steps;
}

/** Every fault of the plan, in order. */
export function plannedFaults(steps: readonly ChaosStep[]): PlannedFault[] {
  return steps.flatMap((s) => s.faults);
}
