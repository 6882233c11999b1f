import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { LifeboatError } from '../util/errors.ts';

/**
 * The dashboard's files, served as they are from beside this module
 * (src/ui, or dist/ui after `npm run build`). Only these names: nothing
 * else of the directory is reachable.
 */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** The page loads only from its own origin: no inline script, no CDN, no frames. */
export const UI_SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

const DIR = fileURLToPath(new URL('.', import.meta.url));

export function isUiFile(name: string): boolean {
  return Object.hasOwn(FILES, name);
}

/** Writes one of the dashboard's files; `name` '' is index.html. false: no such file. */
export async function sendUiFile(res: ServerResponse, name: string): Promise<boolean> {
  const file = name === '' ? 'index.html' : name;
  if (!isUiFile(file)) return false;
  const body = await readFile(join(DIR, file)).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
    throw new LifeboatError('dashboard_missing', `the dashboard's ${file} is missing from ${DIR}`, {
      status: 500,
      hint: '`npm run build` copies src/ui into dist/ui',
    });
  });
  res.writeHead(200, { 'Content-Type': FILES[file]!, 'Content-Length': body.length, ...UI_SECURITY_HEADERS });
  res.end(body);
  return true;
}
