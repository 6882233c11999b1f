import { isIP } from 'node:net';
import { ValidationError } from '../../util/errors.ts';
import { isZero } from './create-fields.ts';
import { RESOURCE_NAME } from './create-body.ts';
import type { DockerEndpointSettings } from './types.ts';

/**
 * The bodies of POST /networks/create, /networks/{id}/connect and
 * /volumes/create, checked field by field: each field is honoured or
 * refused with a 400 that names it, as for container create.
 */

type Obj = Record<string, unknown>;

export interface NetworkCreateRequest {
  name: string;
  internal: boolean;
  labels: Record<string, string>;
  subnets: { subnet: string; gateway?: string }[];
  options: Record<string, string>;
}

const NOT_MULTI_HOST =
  "lifeboat's networks are bridges local to one host (classic Swarm's node-local networks); there is no multi-host network";

/** Docker's bridge driver options and what Podman calls them. */
const BRIDGE_OPTIONS: Record<string, string> = {
  'com.docker.network.driver.mtu': 'mtu',
  mtu: 'mtu',
};

export function parseNetworkCreate(raw: unknown): NetworkCreateRequest {
  const o = object(raw, 'body');
  const name = typeof o['Name'] === 'string' ? o['Name'] : '';
  if (!name) throw new ValidationError('Name is required');
  if (!RESOURCE_NAME.test(name))
    throw new ValidationError(`Name: "${name}" is not a valid network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`);
  const out: NetworkCreateRequest = { name, internal: false, labels: {}, subnets: [], options: {} };
  for (const [key, value] of Object.entries(o)) {
    switch (key) {
      case 'Name':
        break;
      case 'Driver':
        if (!isZero(value) && value !== 'bridge')
          throw new ValidationError(
            `Driver: "${String(value)}" is not supported: ${NOT_MULTI_HOST}`,
            'leave the driver out (bridge); containers on the network are placed on its host',
          );
        break;
      case 'Scope':
        if (!isZero(value) && value !== 'local')
          throw new ValidationError(`Scope: "${String(value)}" is not supported: ${NOT_MULTI_HOST}`);
        break;
      case 'Internal':
        if (value !== undefined && value !== null && typeof value !== 'boolean')
          throw new ValidationError('Internal must be true or false');
        out.internal = value === true;
        break;
      case 'Attachable':
      case 'CheckDuplicate':
        // a bridge is always attachable; names are always checked (a duplicate is a 409)
        break;
      case 'Labels':
        out.labels = strMap(value, 'Labels');
        break;
      case 'Options':
        for (const [k, v] of Object.entries(strMap(value, 'Options'))) {
          const podmanName = BRIDGE_OPTIONS[k];
          if (!podmanName)
            throw new ValidationError(
              `Options: "${k}" is not supported (lifeboat passes com.docker.network.driver.mtu; the bridge's name and NAT settings are the host's)`,
            );
          if (!/^\d+$/.test(v)) throw new ValidationError(`Options: ${k} must be a number, not "${v}"`);
          out.options[podmanName] = v;
        }
        break;
      case 'IPAM':
        out.subnets = ipam(value);
        break;
      case 'EnableIPv6':
      case 'EnableIPv4':
        if ((key === 'EnableIPv6' && value === true) || (key === 'EnableIPv4' && value === false))
          throw new ValidationError(`${key}: only IPv4 networks are supported`);
        break;
      default:
        if (!isZero(value))
          throw new ValidationError(
            `${key} is not supported${key === 'Ingress' || key === 'ConfigOnly' || key === 'ConfigFrom' ? `: ${NOT_MULTI_HOST}` : ''}`,
          );
    }
  }
  return out;
}

function ipam(raw: unknown): { subnet: string; gateway?: string }[] {
  if (isZero(raw)) return [];
  const o = object(raw, 'IPAM');
  if (!isZero(o['Driver']) && o['Driver'] !== 'default')
    throw new ValidationError(`IPAM.Driver: "${String(o['Driver'])}" is not supported (default only)`);
  if (!isZero(o['Options'])) throw new ValidationError('IPAM.Options is not supported');
  const config = o['Config'];
  if (isZero(config)) return [];
  if (!Array.isArray(config)) throw new ValidationError('IPAM.Config must be a list');
  return config.map((c, i) => {
    const where = `IPAM.Config[${i}]`;
    const e = object(c, where);
    const subnet = typeof e['Subnet'] === 'string' ? e['Subnet'] : '';
    const [addr = '', bits = ''] = subnet.split('/');
    if (isIP(addr) !== 4 || !/^\d+$/.test(bits) || Number(bits) > 30)
      throw new ValidationError(`${where}.Subnet: "${subnet}" is not an IPv4 CIDR such as 10.89.5.0/24`);
    const gateway = typeof e['Gateway'] === 'string' && e['Gateway'] ? e['Gateway'] : undefined;
    if (gateway !== undefined && isIP(gateway) !== 4)
      throw new ValidationError(`${where}.Gateway: "${gateway}" is not an IPv4 address`);
    for (const k of Object.keys(e))
      if (k !== 'Subnet' && k !== 'Gateway' && !isZero(e[k]))
        throw new ValidationError(`${where}.${k} is not supported (give Subnet and Gateway)`);
    return { subnet, ...(gateway ? { gateway } : {}) };
  });
}

/** POST /networks/{id}/connect: the container and its endpoint on the network. */
export function parseNetworkConnect(raw: unknown): { container: string; endpoint: DockerEndpointSettings } {
  const o = object(raw, 'body');
  const container = typeof o['Container'] === 'string' ? o['Container'] : '';
  if (!container) throw new ValidationError('Container is required');
  const endpoint: DockerEndpointSettings = {};
  for (const [key, value] of Object.entries(o)) {
    if (key === 'Container') continue;
    if (key !== 'EndpointConfig') {
      if (!isZero(value)) throw new ValidationError(`${key} is not supported`);
      continue;
    }
    if (isZero(value)) continue;
    const ep = object(value, 'EndpointConfig');
    for (const [k, v] of Object.entries(ep)) {
      if (isZero(v) || k === 'NetworkID') continue;
      if (k === 'Aliases') {
        if (!Array.isArray(v) || v.some((a) => typeof a !== 'string' || !RESOURCE_NAME.test(a)))
          throw new ValidationError('EndpointConfig.Aliases must be a list of names');
        endpoint.Aliases = v as string[];
      } else if (k === 'IPAMConfig') {
        const ipv4 = object(v, 'EndpointConfig.IPAMConfig')['IPv4Address'];
        if (typeof ipv4 !== 'string' || isIP(ipv4) !== 4)
          throw new ValidationError('EndpointConfig.IPAMConfig: give an IPv4Address');
        endpoint.IPAMConfig = { IPv4Address: ipv4 };
      } else
        throw new ValidationError(
          `EndpointConfig.${k} is not supported (lifeboat honours Aliases and IPAMConfig.IPv4Address)`,
        );
    }
  }
  return { container, endpoint };
}

/** POST /volumes/create */
export function parseVolumeCreate(raw: unknown): { name?: string; labels: Record<string, string> } {
  const o = raw === undefined || raw === null ? {} : object(raw, 'body');
  let name: string | undefined;
  let labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(o)) {
    if (key === 'Name') {
      if (isZero(value)) continue;
      if (typeof value !== 'string' || !RESOURCE_NAME.test(value))
        throw new ValidationError(
          `Name: "${String(value)}" is not a valid volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
        );
      name = value;
    } else if (key === 'Driver') {
      if (!isZero(value) && value !== 'local')
        throw new ValidationError(
          `Driver: "${String(value)}" is not supported: volumes use the local driver on their host, and lifeboat moves their data with the container`,
        );
    } else if (key === 'Labels') labels = strMap(value, 'Labels');
    else if (!isZero(value))
      throw new ValidationError(
        `${key} is not supported${key === 'DriverOpts' ? ': driver options (a device or NFS mount) would not travel with the container' : ''}`,
      );
  }
  return { ...(name ? { name } : {}), labels };
}

function object(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new ValidationError(`${where} must be an object`);
  return v as Obj;
}

function strMap(v: unknown, where: string): Record<string, string> {
  if (isZero(v)) return {};
  const o = object(v, where);
  for (const [k, x] of Object.entries(o))
    if (typeof x !== 'string') throw new ValidationError(`${where}.${k} must be a string`);
  return o as Record<string, string>;
}
