import { LifeboatError } from '../../util/errors.ts';

/*
 * Errors with dockerd's status codes and, where clients or users match on
 * it, dockerd's wording ("No such container: x").
 */

export class NoSuchContainerError extends LifeboatError {
  constructor(ref: string) {
    super('no_such_container', `No such container: ${ref}`, { status: 404 });
  }
}

export class NoSuchImageError extends LifeboatError {
  constructor(ref: string) {
    super('no_such_image', `No such image: ${ref}`, {
      status: 404,
      hint: 'lifeboat does not pull: load the image on the host first',
    });
  }
}

export class AmbiguousReferenceError extends LifeboatError {
  constructor(ref: string) {
    super('ambiguous_reference', `multiple IDs found with provided prefix: ${ref}`, { status: 400 });
  }
}

export class NameConflictError extends LifeboatError {
  /** `host`: where the other container lives, in a cluster. */
  constructor(name: string, id: string, host?: string) {
    super(
      'name_conflict',
      `Conflict. The container name "/${name}" is already in use by container "${id}"${host ? ` on host ${host}` : ''}. You have to remove (or rename) that container to be able to reuse that name.`,
      { status: 409 },
    );
  }
}

export class ContainerNotRunningError extends LifeboatError {
  constructor(ref: string) {
    super('container_not_running', `Container ${ref} is not running`, { status: 409 });
  }
}

export class ContainerRunningError extends LifeboatError {
  constructor(message: string) {
    super('container_running', message, { status: 409 });
  }
}

export class NoSuchCheckpointError extends LifeboatError {
  constructor(container: string, checkpoint: string, dir: string) {
    super(
      'no_such_checkpoint',
      `checkpoint ${checkpoint} does not exist for container ${container} (in ${dir})`,
      {
        status: 404,
      },
    );
  }
}

export class CheckpointExistsError extends LifeboatError {
  constructor(container: string, checkpoint: string) {
    super('checkpoint_exists', `checkpoint ${checkpoint} already exists for container ${container}`, {
      status: 409,
      hint: 'choose another checkpoint ID or delete the old one (docker checkpoint rm)',
    });
  }
}

/** The container's processes could not come back from an archive; the archive itself is kept. */
export class CheckpointRestoreError extends LifeboatError {
  constructor(container: string, checkpoint: string, archive: string, cause: unknown) {
    super(
      'checkpoint_restore_failed',
      `restoring ${container} from checkpoint ${checkpoint} failed: ${cause instanceof Error ? cause.message : String(cause)}; the archive is kept at ${archive}, retry with docker start --checkpoint ${checkpoint} ${container}`,
      { status: 500, cause },
    );
  }
}

export class NotImplementedError extends LifeboatError {
  constructor(message: string, hint?: string) {
    super('not_implemented', message, { status: 501, ...(hint === undefined ? {} : { hint }) });
  }
}

export class NoSuchExecError extends LifeboatError {
  constructor(id: string) {
    super('no_such_exec', `No such exec instance: ${id}`, { status: 404 });
  }
}

/** A container in a state the request does not fit (already paused, not paused): 409 with dockerd's wording. */
export class ContainerStateError extends LifeboatError {
  constructor(message: string) {
    super('container_state', message, { status: 409 });
  }
}

export class ImageInUseError extends LifeboatError {
  constructor(ref: string, detail: string) {
    super('image_in_use', `conflict: unable to remove repository reference "${ref}": ${detail}`, {
      status: 409,
      hint: 'remove the containers that use it first, or force with docker rmi -f',
    });
  }
}

export class NoSuchNetworkError extends LifeboatError {
  constructor(id: string) {
    super('no_such_network', `network ${id} not found`, {
      status: 404,
      hint: "docker network ls lists the cluster's networks (each host's default one as <host>/bridge); docker network create NAME makes one",
    });
  }
}

export class NoSuchVolumeError extends LifeboatError {
  constructor(name: string) {
    super('no_such_volume', `get ${name}: no such volume`, {
      status: 404,
      hint: '`docker volume ls` lists the volumes of the cluster',
    });
  }
}
