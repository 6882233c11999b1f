import { ValidationError } from '../util/errors.ts';

/** HOST:PORT as a command-line flag gives it. */
export function hostPort(v: string, what: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(v);
  if (!m?.[1] || !m[2]) throw new ValidationError(`${what} "${v}" is not HOST:PORT`);
  return { host: m[1], port: Number(m[2]) };
}

export const LOOPBACK = /^(127\.|localhost$|::1$)/;

/** A plain HTTP listener's address: loopback only. */
export function loopbackHostPort(v: string, flag: string): { host: string; port: number } {
  const hp = hostPort(v, flag);
  if (!LOOPBACK.test(hp.host))
    throw new ValidationError(`${flag} ${v}: plain HTTP listens on loopback only`, 'use 127.0.0.1:PORT');
  return hp;
}
