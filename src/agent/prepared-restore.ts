import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import tar from 'tar-stream';
import { ArchiveInfoCollector, type ArchiveInfo } from '../checkpoint/archive/archive-info.ts';
import {
  HostileArchiveError,
  rewriteConfigDump,
  rewriteSpecDump,
  unpackArchive,
  type HostPaths,
} from '../checkpoint/archive/index.ts';
import { DEFAULT_ARCHIVE_LIMITS } from '../checkpoint/archive/limits.ts';
import { criuLogErrors } from '../engine/criu-log.ts';
import { ImageNotFoundError } from '../engine/errors.ts';
import type { PodmanClient } from '../engine/podman-client.ts';
import type { RestoreResult } from '../engine/types.ts';
import { LifeboatError, errorMessage } from '../util/errors.ts';
import type { Logger } from '../util/log.ts';

/** A container created on this host from a checkpoint's configuration, waiting for its CRIU images. */
export interface PreparedContainer {
  id: string;
  name: string;
  /** Its directory (Podman's userdata), where the images go. */
  dir: string;
  /** The root file system mount point runc must be given (overlay's `merged`). */
  rootPath: string;
  /** The checkpoint's configuration as received, to check the archive against. */
  configDump: Buffer;
  specDump: Buffer;
  /** spec.dump rewritten for this host: the runtime spec of the restore. */
  spec: string;
  imageId: string | undefined;
}

/** An archive unpacked and checked, not yet given to Podman. */
export interface StagedArchive {
  dir: string;
  info: ArchiveInfo;
}

/** What Podman or CRIU say when the container's address is taken on this host. */
export const IP_TAKEN =
  /IP address|not available|already (in use|allocated)|address in use|IPAM|ip .*allocat|Cannot assign requested address/i;
/** CRIU's refusal to restore a dump taken with tcp-close without it. */
const TCP_CLOSE_NEEDED = /Need to set the --tcp-close option/;
/** runc hands the file this annotation names to CRIU (dump and restore). */
const CRIU_CONFIG_ANNOTATION = 'org.criu.config';
const CRIU_CONFIG_FILE = 'criu-lifeboat.conf';

/**
 * Restores a checkpoint into a container created before the images arrive
 * (the thesis' order: create on the target, then restore into it), instead
 * of Podman's import, which copies the whole archive into a temporary file
 * and unpacks it again before restoring:
 *
 * 1. `create`: Podman creates the container from `config.dump`/`spec.dump`
 *    alone (same ID, name, image, networks and ports; state `configured`).
 *    For a migration this happens before the source freezes.
 * 2. `receive`: the archive is unpacked into a private staging directory
 *    while every rule of checkpoint/archive holds; only a complete, valid
 *    archive whose configuration is the one the container was created from
 *    moves into the container's directory.
 * 3. `restore`: the runtime spec (spec.dump for this host, the container's
 *    own root) is written and Podman restores from the images in place,
 *    keeping the address when it is free here, else taking a new one.
 *
 * `discard` removes the container and the staging directory; nothing of a
 * refused archive ever reaches Podman.
 */
export class PreparedRestore {
  constructor(
    private readonly podman: PodmanClient,
    private readonly hostPaths: HostPaths,
    private readonly stagingRoot: string,
    private readonly log: Logger,
  ) {}

  private driver: Promise<{ ok: boolean; reason?: string }> | undefined;

  /**
   * Podman's storage driver must be overlay: its mount point is derived from
   * the layer's directory. Asked once (`podman info` takes a while; the
   * driver does not change under a running service), again after a failure.
   */
  async supported(): Promise<{ ok: boolean; reason?: string }> {
    this.driver ??= this.podman.info().then(
      (info) => {
        const driver = (info as { store?: { graphDriverName?: string } }).store?.graphDriverName;
        return driver === 'overlay'
          ? { ok: true }
          : {
              ok: false,
              reason: `storage driver ${String(driver)}: only overlay is prepared for restores here`,
            };
      },
      (err: unknown) => {
        this.driver = undefined;
        throw err;
      },
    );
    return this.driver;
  }

  async create(configDump: Buffer, specDump: Buffer): Promise<PreparedContainer> {
    const info = new ArchiveInfoCollector();
    for (const [name, role, data] of [
      ['config.dump', 'config-dump', configDump],
      ['spec.dump', 'spec-dump', specDump],
    ] as const) {
      if (data.length > DEFAULT_ARCHIVE_LIMITS.maxMetadataBytes)
        throw new HostileArchiveError('oversize', { member: name }, `${data.length} bytes`);
      info.add(name, role, data);
    }
    const cfg = JSON.parse(configDump.toString('utf8')) as {
      id: string;
      name: string;
      rootfsImageID?: string;
    };
    const source = info.sourceHostPaths();
    const config = rewriteConfigDump(configDump.toString('utf8'), source, this.hostPaths).text;
    const spec = rewriteSpecDump(specDump.toString('utf8'), source, this.hostPaths).text;
    if (cfg.rootfsImageID && !(await this.podman.imageExists(cfg.rootfsImageID))) {
      throw new ImageNotFoundError(
        `restore ${cfg.name}`,
        `image ID ${cfg.rootfsImageID.slice(0, 12)} is not on this host`,
      );
    }
    const id = await this.podman.createFromCheckpointConfig(await configTar(config, spec), cfg.id);
    try {
      const c = await this.podman.inspectContainer(id);
      const upper = c.GraphDriver?.Data?.['UpperDir'];
      if (!c.StaticDir || c.GraphDriver?.Name !== 'overlay' || !upper?.endsWith('/diff')) {
        throw new LifeboatError(
          'unsupported_storage',
          `container ${cfg.name}: storage ${String(c.GraphDriver?.Name)} gives no overlay mount point`,
        );
      }
      return {
        id,
        name: cfg.name,
        dir: c.StaticDir,
        rootPath: upper.replace(/\/diff$/, '/merged'),
        configDump,
        specDump,
        spec,
        imageId: cfg.rootfsImageID,
      };
    } catch (err) {
      await this.podman.removeContainer(id, { force: true, volumes: true }).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Unpacks an archive into a private staging directory while checking it.
   * On any failure the directory is gone and the error is the archive's.
   */
  async stage(
    input: AsyncIterable<Uint8Array>,
    onConfig?: (config: { configDump: Buffer; specDump: Buffer }) => void,
  ): Promise<StagedArchive> {
    const dir = join(this.stagingRoot, `restore-${Date.now()}-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      return { dir, info: await unpackArchive(input, dir, onConfig ? { onConfig } : {}) };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The staged archive's configuration, to create its container from. */
  stagedConfig(staged: StagedArchive): { configDump: Buffer; specDump: Buffer } {
    return {
      configDump: readFileSync(join(staged.dir, 'config.dump')),
      specDump: readFileSync(join(staged.dir, 'spec.dump')),
    };
  }

  /**
   * Moves a staged archive into the container's directory. It must be a full
   * checkpoint carrying the configuration the container was created from,
   * byte for byte. The staging directory is removed either way.
   */
  place(c: PreparedContainer, staged: StagedArchive): void {
    try {
      const { configDump, specDump } = this.stagedConfig(staged);
      for (const [name, got, expected] of [
        ['config.dump', configDump, c.configDump],
        ['spec.dump', specDump, c.specDump],
      ] as const) {
        if (!got.equals(expected))
          throw new HostileArchiveError(
            'config-mismatch',
            { member: name },
            'differs from the configuration the container was created from',
          );
      }
      if (staged.info.kind !== 'checkpoint')
        throw new LifeboatError(
          'archive_not_restorable',
          'a pre-checkpoint archive cannot be restored by itself',
          { status: 400 },
        );
      if (staged.info.volumes.length > 0)
        throw new LifeboatError(
          'archive_not_restorable',
          `the archive carries named volumes (${staged.info.volumes.join(', ')}): restore it with Podman's import`,
          { status: 400 },
        );
      for (const entry of readdirSync(staged.dir)) {
        // Podman's import leaves the configuration out of the container directory too
        if (entry === 'config.dump' || entry === 'spec.dump') continue;
        move(join(staged.dir, entry), join(c.dir, entry));
      }
    } finally {
      this.drop(staged);
    }
  }

  drop(staged: StagedArchive): void {
    rmSync(staged.dir, { recursive: true, force: true });
  }

  /** stage() then place(): the archive of a container prepared before it arrived. */
  async receive(c: PreparedContainer, input: AsyncIterable<Uint8Array>): Promise<ArchiveInfo> {
    const staged = await this.stage(input);
    this.place(c, staged);
    return staged.info;
  }

  /** Restores from the images in place; a taken address is given up for a new one. */
  async restore(
    c: PreparedContainer,
    opts: { tcpEstablished: boolean; ignoreStaticIp?: boolean },
  ): Promise<{ result: RestoreResult; addressKept: boolean }> {
    const spec = JSON.parse(c.spec) as { root?: { path?: string }; annotations?: Record<string, string> };
    spec.root = { ...(spec.root ?? {}), path: c.rootPath };
    // CRIU options for this container only, through runc's org.criu.config annotation: runc
    // keeps the annotation for the container's life and hands the file to every later dump
    // too, so the file is emptied again once the restore is done (a dump with tcp-close
    // would need tcp-close at every restore after it). A path a source host gave is replaced.
    const conf = join(c.dir, CRIU_CONFIG_FILE);
    spec.annotations = { ...(spec.annotations ?? {}), [CRIU_CONFIG_ANNOTATION]: conf };
    writeFileSync(join(c.dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
    const plan: { ignore: boolean; tcpClose?: boolean }[] =
      opts.ignoreStaticIp === undefined
        ? [{ ignore: false }, { ignore: true }]
        : [{ ignore: opts.ignoreStaticIp }];
    try {
      for (let i = 0; i < plan.length; i++) {
        const { ignore } = plan[i]!;
        // An established connection can only be repaired on its own address: on a new
        // one CRIU cannot bind it ("Cannot assign requested address") and every version
        // holding a client connection failed, the restore falling back to stale ones
        // (the chaos bench found it). Its peer reached the old host's address anyway:
        // it comes back closed (CRIU --tcp-close) and the client reconnects.
        const tcpClose = (ignore && opts.tcpEstablished) || plan[i]!.tcpClose === true;
        writeFileSync(conf, tcpClose ? 'tcp-close\n' : '', { mode: 0o600 });
        // what CRIU's log says is read after a failure: not an earlier attempt's
        rmSync(join(c.dir, 'restore.log'), { force: true });
        try {
          const result = await this.podman.restore(c.id, {
            tcpEstablished: opts.tcpEstablished,
            printStats: true,
            ignoreStaticIp: ignore,
            ignoreStaticMac: ignore,
          });
          return { result, addressKept: !ignore };
        } catch (err) {
          const msg = withRestoreLogErrors(c.dir, errorMessage(err));
          // a version dumped with tcp-close (before this fix emptied the file) restores only so
          if (!tcpClose && TCP_CLOSE_NEEDED.test(msg)) {
            plan.splice(i + 1, 0, { ignore, tcpClose: true });
          } else if (i === plan.length - 1 || !IP_TAKEN.test(msg)) throw err;
          this.log.info(
            TCP_CLOSE_NEEDED.test(msg)
              ? 'the checkpoint was dumped with tcp-close: restoring so'
              : "the container's address is taken here: restoring with a new one",
            { container: c.name, error: errorMessage(err) },
          );
        }
      }
    } finally {
      writeFileSync(conf, '', { mode: 0o600 });
    }
    throw new LifeboatError('restore_failed', `restore of ${c.name} produced no container`);
  }

  /** Removes a prepared container that will not run here (a failed or abandoned move). */
  async discard(c: Pick<PreparedContainer, 'id' | 'name'>): Promise<void> {
    try {
      const state = await this.podman.inspectContainer(c.id);
      if (state.State.Running) {
        this.log.warn('not discarding a prepared container that runs', { container: c.name });
        return;
      }
      await this.podman.removeContainer(c.id, { force: true, volumes: true });
    } catch (err) {
      if (!(err instanceof LifeboatError && err.code === 'container_not_found')) throw err;
    }
  }
}

/** Podman's error names only CRIU's log: its error lines say why (a refused option, an address). */
function withRestoreLogErrors(dir: string, message: string): string {
  return [message, ...(criuLogErrors(join(dir, 'restore.log')) ?? [])].join('\n');
}

/** A rename where staging and Podman's storage share a file system, else a copy. */
function move(from: string, to: string): void {
  if (existsSync(to)) rmSync(to, { recursive: true, force: true });
  try {
    renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    cpSync(from, to, { recursive: true, verbatimSymlinks: true });
  }
}

async function configTar(config: string, spec: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: 'config.dump', mode: 0o600 }, config);
  pack.entry({ name: 'spec.dump', mode: 0o600 }, spec);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
