import { isIP } from 'node:net';
import { ValidationError } from '../util/errors.ts';

export interface HostPort {
  host: string;
  port: number;
}

/** `10.0.0.1:7440`, `manager-1:7440`, `[fd00::1]:7440`; the port is required unless `defaultPort` is given. */
export function parseHostPort(text: string, what: string, defaultPort?: number): HostPort {
  const t = text.trim();
  const bad = (why: string): ValidationError =>
    new ValidationError(
      `${what} ${JSON.stringify(text)}: ${why}`,
      'write it as HOST:PORT, e.g. 10.99.0.1:7440',
    );
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
    if (isIP(host) !== 6) throw bad('not an IPv6 address in brackets');
  } else {
    const i = t.lastIndexOf(':');
    if (i >= 0 && t.indexOf(':') !== i) throw bad('put an IPv6 address in brackets');
    host = i >= 0 ? t.slice(0, i) : t;
    portText = i >= 0 ? t.slice(i + 1) : undefined;
  }
  if (host === '' || !/^[A-Za-z0-9.:_-]+$/.test(host)) throw bad('no valid host');
  if (portText === undefined) {
    if (defaultPort === undefined) throw bad('no port');
    return { host, port: defaultPort };
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 0 && port <= 65535)) throw bad('port must be 0-65535');
  return { host, port };
}

/** A comma-separated list of HOST:PORT (`--manager a:7440,b:7440`). */
export function parseHostPortList(text: string, what: string): HostPort[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (items.length === 0) throw new ValidationError(`${what} is empty`, 'give at least one HOST:PORT');
  return items.map((s) => {
    const hp = parseHostPort(s, what);
    if (hp.port === 0) throw new ValidationError(`${what} ${s}: port 0 cannot be dialled`);
    return hp;
  });
}

export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

export function httpsUrl(hp: HostPort, path = ''): string {
  return `https://${formatHostPort(hp)}${path}`;
}

/** `key=value` (repeatable `--label`); the value may be empty, the key may not. */
export function parseLabel(text: string): [string, string] {
  const i = text.indexOf('=');
  const key = i >= 0 ? text.slice(0, i).trim() : text.trim();
  if (key === '' || !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(key))
    throw new ValidationError(
      `label ${JSON.stringify(text)} has no valid key`,
      'write it as key=value, e.g. zone=a',
    );
  return [key, i >= 0 ? text.slice(i + 1) : ''];
}

/**
 * How long before the managers' deadline the agent fences: at least one
 * heartbeat interval (a beat in flight) and a fifth of the timeout, at most
 * half of it. 5 s timeout, 1 s beats: fence after 4 s without contact.
 */
export function defaultFenceMarginMs(failureTimeoutMs: number, heartbeatIntervalMs: number): number {
  return Math.min(failureTimeoutMs / 2, Math.max(heartbeatIntervalMs, failureTimeoutMs / 5));
}
