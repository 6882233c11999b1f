import { createHash } from 'node:crypto';
import tar from 'tar-stream';

/** One file system entry of an image layer. */
export type LayerEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; mode?: number; content: Buffer }
  | { type: 'symlink'; path: string; target: string };

export interface ImageSpec {
  /** Full reference the image is loaded under, e.g. localhost/lifeboat/busybox:latest */
  reference: string;
  entries: LayerEntry[];
  cmd: string[];
  entrypoint?: string[];
  env?: string[];
  workingDir?: string;
  exposedPorts?: string[];
}

// Every timestamp in the archive is fixed, so the same inputs give the same
// bytes, hence the same config digest, hence the same image ID on every node.
const EPOCH = new Date(0);
const CREATED = '1970-01-01T00:00:00Z';

async function packTar(add: (pack: tar.Pack) => void): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  add(pack);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export async function buildLayer(entries: LayerEntry[]): Promise<Buffer> {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return packTar((pack) => {
    for (const e of sorted) {
      const name = e.path.replace(/^\/+/, '');
      const common = { name, mtime: EPOCH, uid: 0, gid: 0, uname: 'root', gname: 'root' };
      if (e.type === 'dir') pack.entry({ ...common, type: 'directory', mode: e.mode ?? 0o755 });
      else if (e.type === 'symlink')
        pack.entry({ ...common, type: 'symlink', linkname: e.target, mode: 0o777 });
      else pack.entry({ ...common, type: 'file', mode: e.mode ?? 0o644 }, e.content);
    }
  });
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Builds an OCI image layout archive (`podman load` reads it and keeps the config digest as image ID). */
export async function buildOciArchive(spec: ImageSpec): Promise<{ archive: Buffer; imageId: string }> {
  const layer = await buildLayer(spec.entries);
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      created: CREATED,
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: spec.cmd,
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        WorkingDir: spec.workingDir ?? '/',
        ...(spec.exposedPorts
          ? { ExposedPorts: Object.fromEntries(spec.exposedPorts.map((p) => [p, {}])) }
          : {}),
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
      history: [{ created: CREATED, created_by: 'lifeboat image builder' }],
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${configDigest}`,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: `sha256:${layerDigest}`,
          size: layer.length,
        },
      ],
    }),
  );
  const manifestDigest = sha256(manifest);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${manifestDigest}`,
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': spec.reference },
        },
      ],
    }),
  );
  const archive = await packTar((pack) => {
    const file = (name: string, content: Buffer): void => {
      pack.entry({ name, mtime: EPOCH, uid: 0, gid: 0, mode: 0o644 }, content);
    };
    pack.entry({ name: 'blobs', type: 'directory', mtime: EPOCH, mode: 0o755 });
    pack.entry({ name: 'blobs/sha256', type: 'directory', mtime: EPOCH, mode: 0o755 });
    file(`blobs/sha256/${configDigest}`, config);
    file(`blobs/sha256/${layerDigest}`, layer);
    file(`blobs/sha256/${manifestDigest}`, manifest);
    file('index.json', index);
    file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
  });
  return { archive, imageId: configDigest };
}
