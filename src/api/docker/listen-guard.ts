import { BlockList, isIP } from 'node:net';
import type { TlsBundle } from '../../pki/index.ts';
import { LifeboatError } from '../../util/errors.ts';

/** A bind address anyone else can reach, without TLS in front of a root-equivalent API. */
export class InsecureListenError extends LifeboatError {
  readonly host: string;
  constructor(host: string) {
    super(
      'insecure_listen',
      `refusing to serve the Docker API on ${host} without TLS: whoever reaches it is root on every host of the cluster`,
      {
        status: 400,
        hint:
          'listen on 127.0.0.1 (the default), or serve it with mutual TLS: create a CA with `lifeboat cert init`, ' +
          'issue the manager a certificate naming the address clients dial (`lifeboat cert issue --role manager ' +
          '--name NAME --ip ADDRESS`), give clients `lifeboat cert issue --role client --name USER --docker` ' +
          'and have them connect with `docker --tlsverify` (DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH)',
      },
    );
    this.host = host;
  }
}

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/**
 * True for addresses only this machine can reach: 127.0.0.0/8, ::1,
 * IPv4-mapped loopback (::ffff:127.0.0.1), and the name `localhost`. Any other name counts as
 * reachable, since what it resolves to can change.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost') return true;
  const family = isIP(h);
  return family !== 0 && loopback.check(h, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The rule dockerd's own docs recommend, enforced: the Docker endpoint
 * listens beyond loopback only behind TLS with client certificates.
 * Throws InsecureListenError (with how to set TLS up) otherwise.
 */
export function checkDockerListen(opts: { host: string; tls: TlsBundle | boolean | undefined }): void {
  if (opts.tls !== undefined && opts.tls !== false) return;
  if (!isLoopbackHost(opts.host)) throw new InsecureListenError(opts.host === '' ? '0.0.0.0' : opts.host);
}
