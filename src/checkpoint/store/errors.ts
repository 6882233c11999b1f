import { describeLocation, type ArchiveLocation } from '../crypto/errors.ts';
import { LifeboatError } from '../../util/errors.ts';

export class CheckpointNotFoundError extends LifeboatError {
  readonly location: ArchiveLocation;
  constructor(location: ArchiveLocation, cause?: unknown) {
    super('checkpoint_not_found', `${describeLocation(location)} does not exist (or was never completed)`, {
      hint: 'list the versions that exist with the checkpoint store (list / candidatesNewestFirst)',
      status: 404,
      ...(cause === undefined ? {} : { cause }),
    });
    this.location = location;
  }
}

export class CheckpointExistsError extends LifeboatError {
  readonly location: ArchiveLocation;
  constructor(location: ArchiveLocation) {
    super('checkpoint_exists', `${describeLocation(location)} already exists`, {
      hint: 'versions are never overwritten silently: remove it first, or write with { replace: true }',
      status: 409,
    });
    this.location = location;
  }
}

/** A plain (unencrypted) archive met a store that requires encryption. */
export class UnencryptedArchiveError extends LifeboatError {
  readonly location: ArchiveLocation;
  constructor(location: ArchiveLocation) {
    super(
      'archive_unencrypted',
      `${describeLocation(location)} is stored unencrypted and this store requires encryption`,
      {
        hint: 'anyone with write access to the storage could have forged it; open it only after checking it, with acceptPlain: true',
        status: 500,
      },
    );
    this.location = location;
  }
}

/** Encryption was asked for without a key. */
export class StoreConfigError extends LifeboatError {
  constructor(message: string, hint: string) {
    super('checkpoint_store_config', message, { hint, status: 500 });
  }
}
