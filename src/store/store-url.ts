/**
 * Store URLs, as given to `lifeboat manager --store URL`:
 *
 *   embedded:///var/lib/lifeboat/state.json   one manager, state in a local JSON file
 *   embedded:state.json                        same, path relative to the working directory
 *   memory:                                    one manager, nothing kept (tests, demos)
 *   etcd://h1:2379,h2:2379,h3:2379/lifeboat    several managers over etcd; keys under /lifeboat/
 */
import { resolve } from 'node:path';
import { ValidationError } from '../util/errors.ts';

export type StoreUrl =
  | { kind: 'embedded'; path: string }
  | { kind: 'memory' }
  | { kind: 'etcd'; endpoints: string[]; prefix: string };

const EXAMPLES = 'embedded:///var/lib/lifeboat/state.json, memory: or etcd://host1:2379,host2:2379/lifeboat';
const DEFAULT_ETCD_PORT = 2379;

function bad(url: string, why: string): ValidationError {
  return new ValidationError(`invalid store URL '${url}': ${why}`, `Use for example ${EXAMPLES}.`);
}

function parseEndpoint(url: string, hostPort: string): string {
  let host: string;
  let port: string | undefined;
  const v6 = /^\[([0-9a-fA-F:.]+)\](?::(.*))?$/.exec(hostPort);
  if (v6 !== null) {
    host = `[${v6[1] ?? ''}]`;
    port = v6[2];
  } else {
    const parts = hostPort.split(':');
    if (parts.length > 2) throw bad(url, `'${hostPort}': write IPv6 addresses in brackets, e.g. [::1]:2379`);
    host = parts[0] ?? '';
    port = parts[1];
    if (!/^[A-Za-z0-9.-]+$/.test(host)) throw bad(url, `'${host}' is not a host name or address`);
  }
  if (port === undefined) return `${host}:${DEFAULT_ETCD_PORT}`;
  const p = Number(port);
  if (!/^\d+$/.test(port) || p < 1 || p > 65535) throw bad(url, `'${port}' is not a port number (1-65535)`);
  return `${host}:${p}`;
}

export function parseStoreUrl(url: string): StoreUrl {
  const m = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(url.trim());
  if (m === null) throw bad(url, 'it has no scheme');
  const scheme = (m[1] ?? '').toLowerCase();
  const rest = m[2] ?? '';
  switch (scheme) {
    case 'memory':
      if (rest !== '' && rest !== '//') throw bad(url, 'memory: takes nothing after the colon');
      return { kind: 'memory' };
    case 'embedded': {
      let path = rest;
      if (path.startsWith('//')) {
        path = path.slice(2);
        if (!path.startsWith('/'))
          throw bad(url, 'embedded:// is followed by an absolute path (embedded:///path)');
      }
      if (path === '' || path.endsWith('/')) throw bad(url, 'it names no state file');
      if (path.includes('?') || path.includes('#')) throw bad(url, 'embedded: takes no query or fragment');
      return { kind: 'embedded', path: resolve(decodeURIComponent(path)) };
    }
    case 'etcd': {
      if (!rest.startsWith('//')) throw bad(url, 'write etcd://host:port[,host:port...][/prefix]');
      const body = rest.slice(2);
      if (body.includes('?') || body.includes('#') || body.includes('@')) {
        throw bad(url, 'etcd URLs take no query, fragment or credentials');
      }
      const slash = body.indexOf('/');
      const hosts = slash < 0 ? body : body.slice(0, slash);
      const path = slash < 0 ? '' : body.slice(slash);
      if (hosts === '') throw bad(url, 'it names no etcd endpoint');
      const endpoints = hosts.split(',').map((h) => {
        if (h === '') throw bad(url, 'empty endpoint in the list');
        return parseEndpoint(url, h);
      });
      const segments = path.split('/').filter((s) => s !== '');
      for (const s of segments) {
        if (!/^[A-Za-z0-9._-]+$/.test(s))
          throw bad(url, `prefix segment '${s}' may only hold A-Z a-z 0-9 . _ -`);
      }
      const prefix = segments.length === 0 ? '/lifeboat/' : `/${segments.join('/')}/`;
      return { kind: 'etcd', endpoints: [...new Set(endpoints)], prefix };
    }
    case 'etcds':
    case 'https':
      throw bad(url, 'TLS to etcd is not supported yet; reach etcd over a trusted network with etcd://');
    default:
      throw bad(url, `unknown scheme '${scheme}'`);
  }
}
