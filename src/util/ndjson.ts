/**
 * The JSON values of a newline-delimited JSON stream (Podman's events, a
 * target agent's migration progress), one per complete line; blank lines
 * are skipped and a last line without its newline is not a value yet.
 */
export async function* ndjson(input: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  let buf = '';
  for await (const chunk of input) {
    buf += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield JSON.parse(line);
    }
  }
}
