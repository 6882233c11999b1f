import { isIP } from 'node:net';
import { ValidationError } from '../../util/errors.ts';
import type { DockerContainerCreateBody, DockerHostConfig, DockerPortMap } from './types.ts';
import { validateImageReference } from './validate.ts';

type Obj = Record<string, unknown>;

const PORT_KEY = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/;

/**
 * Checks the body of POST /containers/create field by field and answers
 * 400 with the field's name when one has the wrong shape. Fields lifeboat
 * does not use are ignored, as dockerd ignores fields it does not know.
 */
export function parseCreateBody(raw: unknown): DockerContainerCreateBody {
  if (raw === undefined) throw new ValidationError('config cannot be empty in order to create a container');
  const o = object(raw, 'body');
  const image = str(o, 'Image');
  if (!image) throw new ValidationError('Image is required');
  validateImageReference(image);
  const body: DockerContainerCreateBody = { Image: image };
  assign(body, 'Hostname', str(o, 'Hostname'));
  assign(body, 'Domainname', str(o, 'Domainname'));
  assign(body, 'User', str(o, 'User'));
  assign(body, 'WorkingDir', str(o, 'WorkingDir'));
  assign(body, 'StopSignal', str(o, 'StopSignal'));
  assign(body, 'AttachStdin', bool(o, 'AttachStdin'));
  assign(body, 'AttachStdout', bool(o, 'AttachStdout'));
  assign(body, 'AttachStderr', bool(o, 'AttachStderr'));
  assign(body, 'Tty', bool(o, 'Tty'));
  assign(body, 'OpenStdin', bool(o, 'OpenStdin'));
  assign(body, 'StdinOnce', bool(o, 'StdinOnce'));
  assign(body, 'Env', strList(o, 'Env'));
  assign(body, 'Cmd', command(o, 'Cmd'));
  assign(body, 'Entrypoint', command(o, 'Entrypoint'));
  assign(body, 'Labels', strMap(o, 'Labels'));
  assign(body, 'ExposedPorts', portSet(o, 'ExposedPorts'));
  assign(body, 'Volumes', objectOrNull(o, 'Volumes'));
  const stopTimeout = int(o, 'StopTimeout');
  if (stopTimeout !== undefined && stopTimeout >= 0) body.StopTimeout = stopTimeout;
  if (o['HostConfig'] !== undefined && o['HostConfig'] !== null)
    body.HostConfig = parseHostConfig(object(o['HostConfig'], 'HostConfig'));
  return body;
}

function parseHostConfig(o: Obj): DockerHostConfig {
  const hc: DockerHostConfig = {};
  const binds = strList(o, 'Binds', 'HostConfig.');
  if (binds) {
    for (const b of binds) validateBind(b);
    hc.Binds = binds;
  }
  assign(hc, 'Links', strList(o, 'Links', 'HostConfig.'));
  const volumesFrom = strList(o, 'VolumesFrom', 'HostConfig.');
  if (volumesFrom) {
    for (const v of volumesFrom)
      if (!/^[^:]+(?::(?:ro|rw|z)(?:,(?:ro|rw|z))*)?$/.test(v))
        throw new ValidationError(`invalid VolumesFrom entry "${v}": use container[:ro|rw]`);
    hc.VolumesFrom = volumesFrom;
  }
  assign(hc, 'ExtraHosts', strList(o, 'ExtraHosts', 'HostConfig.'));
  assign(hc, 'NetworkMode', str(o, 'NetworkMode', 'HostConfig.'));
  assign(hc, 'CgroupParent', str(o, 'CgroupParent', 'HostConfig.'));
  assign(hc, 'AutoRemove', bool(o, 'AutoRemove', 'HostConfig.'));
  assign(hc, 'PublishAllPorts', bool(o, 'PublishAllPorts', 'HostConfig.'));
  assign(hc, 'Privileged', bool(o, 'Privileged', 'HostConfig.'));
  const memory = int(o, 'Memory', 'HostConfig.');
  if (memory !== undefined) {
    if (memory < 0) throw new ValidationError('HostConfig.Memory must not be negative');
    if (memory > 0 && memory < 6 * 1024 * 1024)
      throw new ValidationError('Minimum memory limit allowed is 6MB');
    hc.Memory = memory;
  }
  const shares = int(o, 'CpuShares', 'HostConfig.');
  if (shares !== undefined) {
    if (shares < 0) throw new ValidationError('HostConfig.CpuShares must not be negative');
    hc.CpuShares = shares;
  }
  if (o['PortBindings'] !== undefined && o['PortBindings'] !== null)
    hc.PortBindings = portBindings(object(o['PortBindings'], 'HostConfig.PortBindings'));
  if (o['RestartPolicy'] !== undefined && o['RestartPolicy'] !== null) {
    const rp = object(o['RestartPolicy'], 'HostConfig.RestartPolicy');
    hc.RestartPolicy = {};
    assign(hc.RestartPolicy, 'Name', str(rp, 'Name', 'HostConfig.RestartPolicy.'));
    assign(hc.RestartPolicy, 'MaximumRetryCount', int(rp, 'MaximumRetryCount', 'HostConfig.RestartPolicy.'));
  }
  return hc;
}

/** `host-path:container-path[:options]`; only absolute host paths (no named volumes). */
function validateBind(b: string): void {
  const parts = b.split(':');
  if (parts.length < 2 || parts.length > 3 || !parts[0] || !parts[1])
    throw new ValidationError(`invalid bind "${b}": use /host/path:/container/path[:ro]`);
  if (!parts[0].startsWith('/'))
    throw new ValidationError(
      `invalid bind "${b}": named volumes are not supported, use an absolute host path (/host/path:${parts[1]})`,
    );
  if (!parts[1].startsWith('/'))
    throw new ValidationError(`invalid bind "${b}": the container path must be absolute`);
  if (parts[2] !== undefined && !/^(ro|rw|z|Z)(,(ro|rw|z|Z))*$/.test(parts[2]))
    throw new ValidationError(`invalid bind "${b}": options are ro or rw`);
}

function portBindings(o: Obj): DockerPortMap {
  const out: DockerPortMap = {};
  for (const [key, value] of Object.entries(o)) {
    portKey(key, 'HostConfig.PortBindings');
    if (value === null) {
      out[key] = null;
      continue;
    }
    if (!Array.isArray(value))
      throw new ValidationError(`HostConfig.PortBindings["${key}"] must be a list of {HostIp, HostPort}`);
    out[key] = value.map((v) => {
      const b = object(v, `HostConfig.PortBindings["${key}"][]`);
      const hostIp = str(b, 'HostIp', `HostConfig.PortBindings["${key}"][].`);
      const hostPort = str(b, 'HostPort', `HostConfig.PortBindings["${key}"][].`);
      if (
        hostPort !== undefined &&
        hostPort !== '' &&
        (!/^\d{1,5}$/.test(hostPort) || Number(hostPort) > 65535)
      )
        throw new ValidationError(
          `invalid host port "${hostPort}" for ${key}: a single port number up to 65535 (port ranges are not supported)`,
        );
      if (hostIp !== undefined && hostIp !== '' && isIP(hostIp) === 0)
        throw new ValidationError(
          `invalid host IP "${hostIp}" for ${key}: an IPv4 or IPv6 address, or empty`,
        );
      return {
        ...(hostIp !== undefined ? { HostIp: hostIp } : {}),
        ...(hostPort !== undefined ? { HostPort: hostPort } : {}),
      };
    });
  }
  return out;
}

function portSet(o: Obj, key: string): Record<string, object> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const set = object(v, key);
  for (const k of Object.keys(set)) portKey(k, key);
  return set as Record<string, object>;
}

function portKey(key: string, where: string): void {
  const m = PORT_KEY.exec(key);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535)
    throw new ValidationError(`${where}: invalid port "${key}" (use PORT/tcp or PORT/udp)`);
  if (m[2] === 'sctp') throw new ValidationError(`${where}: sctp ports are not supported ("${key}")`);
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function object(v: unknown, where: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ValidationError(`${where} must be a JSON object`);
  return v as Obj;
}

function objectOrNull(o: Obj, key: string): Record<string, object> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  return object(v, key) as Record<string, object>;
}

function str(o: Obj, key: string, prefix = ''): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ValidationError(`${prefix}${key} must be a string`);
  return v;
}

function bool(o: Obj, key: string, prefix = ''): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ValidationError(`${prefix}${key} must be true or false`);
  return v;
}

function int(o: Obj, key: string, prefix = ''): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new ValidationError(`${prefix}${key} must be an integer`);
  // JSON numbers beyond 2^53 arrive rounded, and beyond int64 the engine cannot take them at all.
  if (!Number.isSafeInteger(v)) throw new ValidationError(`${prefix}${key} is out of range`);
  return v;
}

function strList(o: Obj, key: string, prefix = ''): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new ValidationError(`${prefix}${key} must be a list of strings`);
  return v as string[];
}

/** Cmd and Entrypoint: a list of strings, or (older clients) one string. */
function command(o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (typeof v === 'string') return [v];
  return strList(o, key);
}

function strMap(o: Obj, key: string): Record<string, string> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  const m = object(v, key);
  for (const [k, x] of Object.entries(m))
    if (typeof x !== 'string') throw new ValidationError(`${key}["${k}"] must be a string`);
  return m as Record<string, string>;
}
