import { LifeboatError } from '../util/errors.ts';

/** The store could not be reached within the retry budget. */
export class StoreUnavailableError extends LifeboatError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super('store_unavailable', message, {
      status: 503,
      hint: opts.hint ?? 'Check that the store (etcd members or the state file) is reachable, then retry.',
      cause: opts.cause,
    });
  }
}

export class StoreClosedError extends LifeboatError {
  constructor(what = 'the cluster store') {
    super('store_closed', `${what} was closed`, { status: 503, hint: 'Open the store again.' });
  }
}

/** A lease ended without its holder revoking it: expired, revoked elsewhere, or its store closed. */
export class LeaseLostError extends LifeboatError {
  constructor(message: string, cause?: unknown) {
    super('lease_lost', message, {
      status: 503,
      hint: 'Anything attached to the lease is gone; grant a new lease and re-create it.',
      cause,
    });
  }
}

export class LeadershipLostError extends LifeboatError {
  constructor(election: string, reason: string, cause?: unknown) {
    super('leadership_lost', `leadership of election '${election}' lost: ${reason}`, {
      status: 503,
      hint: 'Stop acting as leader; campaign again to stand for re-election.',
      cause,
    });
  }
}

export class CampaignAbortedError extends LifeboatError {
  constructor(election: string) {
    super('campaign_aborted', `campaign in election '${election}' was aborted`, { status: 503 });
  }
}

/** A watch asked for history the store no longer has. */
export class StoreCompactedError extends LifeboatError {
  constructor(requested: number, oldest?: number) {
    super(
      'store_compacted',
      `revision ${requested} is no longer available` +
        (oldest === undefined ? '' : ` (history starts after revision ${oldest})`),
      { status: 410, hint: 'Read the current state again and watch from its revision + 1.' },
    );
  }
}

export class StoreLockedError extends LifeboatError {
  constructor(path: string, pid: number) {
    super('store_locked', `state file ${path} is in use by process ${pid}`, {
      status: 409,
      hint: 'Another manager runs on this state file: stop it, or use an etcd store for several managers.',
    });
  }
}

export class StoreCorruptError extends LifeboatError {
  constructor(path: string, reason: string) {
    super('store_corrupt', `state file ${path} is unreadable: ${reason}`, {
      status: 500,
      hint: 'Restore the file from a backup or move it away to start with an empty cluster state.',
    });
  }
}
