import { isIP } from 'node:net';
import { ValidationError } from '../../util/errors.ts';
import { z } from 'zod';
import { parseBody } from '../../util/schema.ts';
import { anyMap, bool, closed, extraFields, isZero, str, strList, strMap } from './wire.ts';
import { RESOURCE_NAME } from './create-body.ts';
import type { DockerEndpointSettings } from './types.ts';

/**
 * The bodies of POST /networks/create, /networks/{id}/connect and
 * /volumes/create, checked field by field: each field is honoured or
 * refused with a 400 that names it, as for container create.
 */

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

/** The bodies' JSON types, declared once (src/util/schema.ts); the rules below apply to typed values. */
const IpamSchema = closed({
  Driver: str.nullish(),
  Options: anyMap.nullish(),
  Config: z
    .array(closed({ Subnet: str.nullish(), Gateway: str.nullish() }), { error: 'must be a list' })
    .nullish(),
});

const NetworkCreateSchema = z.looseObject(
  {
    Name: str.nullish(),
    Driver: str.nullish(),
    Scope: str.nullish(),
    Internal: bool.nullish(),
    // a bridge is always attachable; names are always checked (a duplicate is a 409)
    Attachable: z.unknown().optional(),
    CheckDuplicate: z.unknown().optional(),
    Labels: strMap.nullish(),
    Options: strMap.nullish(),
    IPAM: IpamSchema.nullish(),
    EnableIPv6: bool.nullish(),
    EnableIPv4: bool.nullish(),
  },
  { error: 'must be a JSON object' },
);

const NetworkConnectSchema = z.looseObject(
  {
    Container: str.nullish(),
    EndpointConfig: z
      .looseObject(
        {
          Aliases: strList.nullish(),
          IPAMConfig: z
            .looseObject({ IPv4Address: str.nullish() }, { error: 'must be a JSON object' })
            .nullish(),
          NetworkID: str.nullish(),
        },
        { error: 'must be a JSON object' },
      )
      .nullish(),
  },
  { error: 'must be a JSON object' },
);

const VolumeCreateSchema = z.looseObject(
  { Name: str.nullish(), Driver: str.nullish(), Labels: strMap.nullish(), DriverOpts: anyMap.nullish() },
  { error: 'must be a JSON object' },
);

export function parseNetworkCreate(raw: unknown): NetworkCreateRequest {
  const o = parseBody(NetworkCreateSchema, raw, '');
  const name = o.Name ?? '';
  if (!name) throw new ValidationError('Name is required');
  if (!RESOURCE_NAME.test(name))
    throw new ValidationError(`Name: "${name}" is not a valid network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`);
  if (o.Driver && o.Driver !== 'bridge')
    throw new ValidationError(
      `Driver: "${o.Driver}" is not supported: ${NOT_MULTI_HOST}`,
      'leave the driver out (bridge); containers on the network are placed on its host',
    );
  if (o.Scope && o.Scope !== 'local')
    throw new ValidationError(`Scope: "${o.Scope}" is not supported: ${NOT_MULTI_HOST}`);
  if (o.EnableIPv6 === true) throw new ValidationError('EnableIPv6: only IPv4 networks are supported');
  if (o.EnableIPv4 === false) throw new ValidationError('EnableIPv4: only IPv4 networks are supported');
  for (const key of extraFields(o, NetworkCreateSchema.shape))
    throw new ValidationError(
      `${key} is not supported${key === 'Ingress' || key === 'ConfigOnly' || key === 'ConfigFrom' ? `: ${NOT_MULTI_HOST}` : ''}`,
    );
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.Options ?? {})) {
    const podmanName = BRIDGE_OPTIONS[k];
    if (!podmanName)
      throw new ValidationError(
        `Options: "${k}" is not supported (lifeboat passes com.docker.network.driver.mtu; the bridge's name and NAT settings are the host's)`,
      );
    if (!/^\d+$/.test(v)) throw new ValidationError(`Options: ${k} must be a number, not "${v}"`);
    options[podmanName] = v;
  }
  return { name, internal: o.Internal === true, labels: o.Labels ?? {}, subnets: ipam(o.IPAM), options };
}

function ipam(o: z.output<typeof IpamSchema> | null | undefined): { subnet: string; gateway?: string }[] {
  if (!o) return [];
  if (o.Driver && o.Driver !== 'default')
    throw new ValidationError(`IPAM.Driver: "${o.Driver}" is not supported (default only)`);
  if (!isZero(o.Options)) throw new ValidationError('IPAM.Options is not supported');
  return (o.Config ?? []).map((e, i) => {
    const where = `IPAM.Config[${i}]`;
    const subnet = e.Subnet ?? '';
    const [addr = '', bits = ''] = subnet.split('/');
    if (isIP(addr) !== 4 || !/^\d+$/.test(bits) || Number(bits) > 30)
      throw new ValidationError(`${where}.Subnet: "${subnet}" is not an IPv4 CIDR such as 10.89.5.0/24`);
    const gateway = e.Gateway || undefined;
    if (gateway !== undefined && isIP(gateway) !== 4)
      throw new ValidationError(`${where}.Gateway: "${gateway}" is not an IPv4 address`);
    return { subnet, ...(gateway ? { gateway } : {}) };
  });
}

/** POST /networks/{id}/connect: the container and its endpoint on the network. */
export function parseNetworkConnect(raw: unknown): { container: string; endpoint: DockerEndpointSettings } {
  const o = parseBody(NetworkConnectSchema, raw, '');
  const container = o.Container ?? '';
  if (!container) throw new ValidationError('Container is required');
  for (const key of extraFields(o, NetworkConnectSchema.shape))
    throw new ValidationError(`${key} is not supported`);
  const endpoint: DockerEndpointSettings = {};
  const ep = o.EndpointConfig ?? {};
  for (const [k, v] of Object.entries(ep)) {
    if (isZero(v) || k === 'NetworkID') continue;
    if (k === 'Aliases') {
      if ((ep.Aliases ?? []).some((a) => !RESOURCE_NAME.test(a)))
        throw new ValidationError('EndpointConfig.Aliases must be a list of names');
      endpoint.Aliases = ep.Aliases ?? [];
    } else if (k === 'IPAMConfig') {
      const ipv4 = ep.IPAMConfig?.IPv4Address;
      if (!ipv4 || isIP(ipv4) !== 4)
        throw new ValidationError('EndpointConfig.IPAMConfig: give an IPv4Address');
      endpoint.IPAMConfig = { IPv4Address: ipv4 };
    } else
      throw new ValidationError(
        `EndpointConfig.${k} is not supported (lifeboat honours Aliases and IPAMConfig.IPv4Address)`,
      );
  }
  return { container, endpoint };
}

/** POST /volumes/create */
export function parseVolumeCreate(raw: unknown): { name?: string; labels: Record<string, string> } {
  const o = parseBody(VolumeCreateSchema, raw ?? {}, '');
  if (o.Name && !RESOURCE_NAME.test(o.Name))
    throw new ValidationError(`Name: "${o.Name}" is not a valid volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`);
  if (o.Driver && o.Driver !== 'local')
    throw new ValidationError(
      `Driver: "${o.Driver}" is not supported: volumes use the local driver on their host, and lifeboat moves their data with the container`,
    );
  if (!isZero(o.DriverOpts))
    throw new ValidationError(
      'DriverOpts is not supported: driver options (a device or NFS mount) would not travel with the container',
    );
  for (const key of extraFields(o, VolumeCreateSchema.shape))
    throw new ValidationError(`${key} is not supported`);
  return { ...(o.Name ? { name: o.Name } : {}), labels: o.Labels ?? {} };
}
