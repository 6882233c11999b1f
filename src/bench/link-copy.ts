import { spawn } from 'node:child_process';
import type { HostSandbox } from '../devcluster/host-sandbox.ts';
import { LifeboatError } from '../util/errors.ts';

const PORT = 27999;

// Plain Node, no tsx: the copy should not pay a compiler's start-up.
const RECEIVE = `
const net = require('node:net'), fs = require('node:fs');
const [addr, port, file] = process.argv.slice(1);
const srv = net.createServer((s) => {
  const out = fs.createWriteStream(file);
  s.pipe(out);
  out.on('finish', () => { srv.close(); process.exit(0); });
});
srv.listen(Number(port), addr, () => process.stdout.write('ready\\n'));`;
const SEND = `
const net = require('node:net'), fs = require('node:fs');
const [addr, port, file] = process.argv.slice(1);
const s = net.connect(Number(port), addr, () => fs.createReadStream(file).pipe(s));
s.on('error', (e) => { console.error(e.message); process.exit(1); });`;

function run(ns: HostSandbox, script: string, args: string[], onReady?: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('nsenter', [`--net=${ns.netnsPath}`, '--', process.execPath, '-e', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      if (onReady && d.toString().includes('ready')) onReady();
    });
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new LifeboatError('bench_copy', `copy failed (${code}): ${err.trim()}`)),
    );
  });
}

/**
 * Copies a file from one bench host to another over the network, as scp
 * would between two machines (without its encryption): a receiver in the
 * target's network namespace, a sender in the source's, so the bytes cross
 * both hosts' links and whatever shaping they carry.
 */
export async function copyAcrossLink(
  from: HostSandbox,
  to: HostSandbox,
  srcFile: string,
  dstFile: string,
): Promise<void> {
  let ready!: () => void;
  const listening = new Promise<void>((r) => (ready = r));
  const receiving = run(to, RECEIVE, [to.address, String(PORT), dstFile], ready);
  await Promise.race([listening, receiving]);
  await Promise.all([run(from, SEND, [to.address, String(PORT), srcFile]), receiving]);
}
