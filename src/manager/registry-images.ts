import { errorMessage as messageOf } from '../util/errors.ts';
import { errorMessage, type JsonMessage } from '../api/docker/json-messages.ts';

/**
 * docker pull on a cluster: the image is pulled on every healthy host at
 * once, so that any of them can run it, restore it or receive it in a move
 * without shipping. Each host's progress is passed on as Docker's JSON
 * messages with the host's name in the id (`c1/3f4ca61aafcd: Pull complete`,
 * one line per host and layer on the CLI's terminal); the last message says
 * on which hosts the image now is, or, when any host failed, is an error
 * naming those hosts, their reasons and where the image is.
 */
export interface HostPull {
  host: string;
  pull: () => Promise<AsyncIterable<JsonMessage>>;
}

export async function* pullOnHosts(image: string, hosts: readonly HostPull[]): AsyncGenerator<JsonMessage> {
  if (hosts.length === 0) {
    yield errorMessage(`no healthy host to pull ${image} on`);
    return;
  }
  const queue: JsonMessage[] = [];
  let wake: (() => void) | undefined;
  const push = (m: JsonMessage): void => {
    queue.push(m);
    wake?.();
  };
  const failed = new Map<string, string>();
  const ok: string[] = [];
  let left = hosts.length;
  for (const h of hosts) {
    void (async () => {
      push({ id: h.host, status: `Pulling ${image} on ${h.host}` });
      let error: string | undefined;
      try {
        for await (const m of await h.pull()) {
          if (m.error !== undefined || m.errorDetail !== undefined) {
            error = m.errorDetail?.message ?? m.error ?? 'failed';
            break;
          }
          push({ ...m, id: m.id ? `${h.host}/${m.id}` : h.host });
        }
      } catch (err) {
        error = messageOf(err);
      }
      if (error === undefined) {
        ok.push(h.host);
        push({ id: h.host, status: `Pulled ${image}` });
      } else {
        failed.set(h.host, error);
        push({ id: h.host, status: `Failed: ${error}` });
      }
      left--;
      wake?.();
    })();
  }
  for (;;) {
    while (queue.length > 0) yield queue.shift()!;
    if (left === 0) break;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
  const order = (names: Iterable<string>): string =>
    [...names].sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).join(', ');
  if (failed.size === 0) {
    yield { status: `Status: ${image} is on ${ok.length} host(s): ${order(ok)}` };
    return;
  }
  const reasons = new Set(failed.values());
  const why =
    reasons.size === 1
      ? `on ${failed.size === hosts.length ? 'every host' : order(failed.keys())}: ${[...reasons][0]}`
      : [...failed]
          .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
          .map(([h, r]) => `on ${h}: ${r}`)
          .join('; ');
  const where = ok.length ? `it is on ${order(ok)} only` : 'no host has it';
  yield errorMessage(`pull of ${image} failed ${why} (${where}; ${hintFor([...reasons].join(' '))})`);
}

/** What to do, read from the registry's answer. */
export function hintFor(reason: string): string {
  if (/unauthorized|authentication required|denied|401/i.test(reason))
    return 'log in with `docker login REGISTRY` against this endpoint (the credentials travel with each pull) and check the name';
  if (/x509|certificate|tls/i.test(reason))
    return "each host must trust the registry's certificate: put its CA in /etc/containers/certs.d/HOST:PORT/ca.crt on every host";
  if (/manifest unknown|not found|name unknown/i.test(reason)) return 'check the repository and tag';
  if (/connection refused|no such host|timeout|unreachable|i\/o timeout|EHOSTUNREACH/i.test(reason))
    return "the registry is not reachable from the hosts: check its address and the hosts' network";
  return 'see the reason above';
}
