import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateClusterKey } from '../checkpoint/crypto/index.ts';
import { createClusterCa, issueToDirectory } from '../pki/index.ts';
import { DEFAULT_CONTEXT, writeContext } from './context.ts';
import { DEFAULT_DOCKER_SOCKET } from '../api/docker/unix-socket.ts';
import { ValidationError } from '../util/errors.ts';
import { caDigest } from '../join/token.ts';

export interface InitOptions {
  name: string;
  ipAddresses: string[];
  dnsNames: string[];
  port: number;
  pkiRoot: string;
  clusterKeyPath: string;
  contextPath?: string;
}

export interface InitResult {
  caDir: string;
  caDigest: string;
  clusterKeyPath: string;
  managerPki: string;
  adminPki: string;
  contextPath: string;
  listen: string;
  made: { ca: boolean; clusterKey: boolean; manager: boolean; admin: boolean; context: boolean };
}

/** The first manager's files (see `lifeboat init --help`); what exists is kept. */
export async function initCluster(o: InitOptions): Promise<InitResult> {
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535)
    throw new ValidationError(`--port ${o.port} is not a TCP port`);
  const address = o.ipAddresses[0] ?? o.dnsNames[0];
  if (address === undefined)
    throw new ValidationError(
      'init needs the address hosts reach this manager at',
      'pass --address IP (or --dns NAME)',
    );
  const caDir = join(o.pkiRoot, 'ca');
  const managerPki = join(o.pkiRoot, 'manager');
  const adminPki = join(o.pkiRoot, 'clients', 'admin');
  const contextPath = o.contextPath ?? DEFAULT_CONTEXT;
  const made = { ca: false, clusterKey: false, manager: false, admin: false, context: false };

  const ca = await createClusterCa(caDir);
  made.ca = ca.created;
  if (!existsSync(o.clusterKeyPath)) {
    await generateClusterKey(o.clusterKeyPath);
    made.clusterKey = true;
  }
  if (!existsSync(join(managerPki, 'cert.pem'))) {
    await issueToDirectory(caDir, 'manager', o.name, managerPki, {
      ipAddresses: o.ipAddresses,
      dnsNames: o.dnsNames,
    });
    made.manager = true;
  }
  if (!existsSync(join(adminPki, 'cert.pem'))) {
    await issueToDirectory(caDir, 'client', 'admin', adminPki);
    made.admin = true;
  }
  const managerUrl = `https://${address}:${o.port}`;
  if (!existsSync(contextPath)) {
    writeContext(
      {
        managerUrl,
        managerUrls: [managerUrl],
        pkiDir: adminPki,
        dockerHost: `unix://${DEFAULT_DOCKER_SOCKET}`,
      },
      contextPath,
    );
    made.context = true;
  }
  return {
    caDir,
    caDigest: caDigest(ca.certPem),
    clusterKeyPath: o.clusterKeyPath,
    managerPki,
    adminPki,
    contextPath,
    listen: `${o.ipAddresses[0] ?? '0.0.0.0'}:${o.port}`,
    made,
  };
}
