import type { IncomingMessage } from 'node:http';
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

/** What a web page's request carries and a Docker client's never does. */
export class BrowserRequestError extends LifeboatError {
  constructor(why: string) {
    super('browser_request', `refused: ${why}`, {
      status: 403,
      hint:
        'the clear-text Docker endpoint is root on every host: it answers Docker clients on this machine only, ' +
        'never a web page open in a browser here (cross-site request forgery, DNS rebinding)',
    });
  }
}

/** Content types a browser may send cross-site without asking first (a "simple request"). */
const SIMPLE_CONTENT = /^\s*(text\/plain|application\/x-www-form-urlencoded|multipart\/form-data)/i;

/**
 * The clear-text listener's guard: no request from a web page. A browser
 * names the page in `Origin`; a page that rebinds its own host name to
 * 127.0.0.1 still sends that name as `Host`; and a form or `fetch` without
 * preflight can only send the content types above. Docker clients send
 * none of these.
 */
export function refuseBrowserRequests(req: IncomingMessage): void {
  const host = req.headers.host;
  if (host !== undefined && !isLoopbackHost(host.replace(/:\d+$/, '')))
    throw new BrowserRequestError(
      `Host ${host.slice(0, 100)} is not this loopback listener (DNS rebinding?)`,
    );
  refuseBrowserRequestsOnSocket(req);
}

/**
 * The unix socket's guard: no page can resolve a name to a socket, so the
 * Host header is free (the docker CLI sends `api.moby.localhost`), but a
 * request that says it comes from a page is still refused.
 */
export function refuseBrowserRequestsOnSocket(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin !== undefined)
    throw new BrowserRequestError(`a request from a web page (Origin: ${origin.slice(0, 100)})`);
  const type = req.headers['content-type'];
  // the docker CLI's attach and exec upgrades say text/plain; a page cannot send an Upgrade header.
  // Only a POST can be a "simple" cross-site request: a PUT (docker cp says text/plain too) needs a
  // preflight, which this API never grants.
  const upgrade = /\bupgrade\b/i.test(req.headers.connection ?? '') && req.headers.upgrade !== undefined;
  if (req.method === 'POST' && type !== undefined && !upgrade && SIMPLE_CONTENT.test(type))
    throw new BrowserRequestError(`content type ${type.slice(0, 60)} (the API takes JSON or tar bodies)`);
}
