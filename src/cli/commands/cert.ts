import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { generateClusterKey } from '../../checkpoint/crypto/index.ts';
import {
  createClusterCa,
  defaultValidDays,
  issueToDirectory,
  maxValidDays,
  roles,
  type CertLayout,
  type IssueToDirectoryOptions,
  type Role,
} from '../../pki/index.ts';
import { roleFromOu } from '../../pki/roles.ts';
import { LifeboatError, ValidationError } from '../../util/errors.ts';

export const DEFAULT_PKI_ROOT = '/var/lib/lifeboat/pki';
export const DEFAULT_CA_DIR = join(DEFAULT_PKI_ROOT, 'ca');
export const DEFAULT_CLUSTER_KEY_PATH = '/etc/lifeboat/cluster.key';

/** Where `cert issue` writes without --out: the agent's default --pki for agents, one directory per client. */
export function defaultOutDir(role: Role, name: string): string {
  return role === 'client' ? join(DEFAULT_PKI_ROOT, 'clients', name) : join(DEFAULT_PKI_ROOT, role);
}

const CERT_HELP = `
What it is:
  Everything in a lifeboat cluster proves who it is with a certificate from
  one cluster CA, and every TLS server checks the caller's certificate and
  its role before reading a request:
    manager  serves the Docker and lifeboat APIs; calls agents
    agent    serves a host's node API (root on that host); managers only
    client   an operator's docker CLI or SDK; can never serve
  The node API, the heartbeats and the Docker endpoint off loopback all
  require these certificates. See docs/security.md.

A new cluster, step by step:
  lifeboat cert init                                   # CA in ${DEFAULT_CA_DIR}
  lifeboat cert issue --role manager --name m1 --ip 10.99.0.1
  lifeboat cert issue --role agent --name node1 --ip 10.99.0.11 --out /tmp/node1
  lifeboat cert issue --role client --name alice --docker --out ~/.lifeboat/alice
  lifeboat cert key init                               # checkpoint archive key
  # copy /tmp/node1 to node1's ${DEFAULT_PKI_ROOT}/agent, the key to every node (0600)
  DOCKER_HOST=tcp://10.99.0.1:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=~/.lifeboat/alice docker ps`;

const INIT_HELP = `
Creates the cluster CA (ECDSA P-256, valid 10 years) in DIR (0700):
  ca.pem       CA certificate (0644): every node and client trusts it
  ca-key.pem   CA private key (0600): keep it on a manager, or offline
Running it again loads and shows the existing CA; it never replaces one,
because a new CA would invalidate every certificate the old one issued.
To replace a CA, follow "Rotating the cluster CA" in docs/security.md.

Example:
  lifeboat cert init --dir /var/lib/lifeboat/pki/ca`;

const ISSUE_HELP = `
Issues a certificate and a fresh key for one identity, signed by the CA in
--ca, and writes them into --out (0700; key 0600):
  docker layout (default, --docker)  ca.pem, cert.pem, key.pem: what
      \`lifeboat manage --pki DIR\`, \`lifeboat agent --pki DIR\` and the docker
      CLI (DOCKER_CERT_PATH=DIR) read
  --prefix NAME  ca.pem, NAME.pem, NAME-key.pem: several identities in one
      directory (\`lifeboat agent --pki DIR\` also finds agent.pem, agent-key.pem)
The role is written into the certificate (OU=lifeboat-<role>) and checked by
every server. Managers and agents must be issued with every address and name
others dial them by (--ip, --dns); a name that is an IP address or host name
is added by itself. Clients carry no addresses.

Examples:
  lifeboat cert issue --role manager --name m1 --ip 10.99.0.1 --dns lifeboat.example.org
  lifeboat cert issue --role agent --name node1 --ip 10.99.0.11 --out /tmp/node1
  lifeboat cert issue --role client --name alice --docker --out ~/.lifeboat/alice
  # during a CA rotation: issue from the new CA, trust both
  lifeboat cert issue --role agent --name node1 --ip 10.99.0.11 --out /tmp/node1 \\
    --ca /var/lib/lifeboat/pki/ca-new --also-trust /var/lib/lifeboat/pki/ca/ca.pem --force

Inspect one:
  openssl x509 -in cert.pem -noout -subject -enddate -ext extendedKeyUsage,subjectAltName`;

const KEY_HELP = `
Creates the cluster archive key: 32 random bytes as 64 hex digits in FILE
(0600, never overwritten). Checkpoint archives are encrypted with it
(AES-256-GCM) before they reach the shared checkpoint store. Every agent
and manager that writes or restores checkpoints needs the same key
(\`lifeboat agent --cluster-key FILE\`). Its id (first 8 bytes of its
sha256) names it in archives and manifests; the key itself is never logged.

Example:
  lifeboat cert key init --path /etc/lifeboat/cluster.key
  scp -p /etc/lifeboat/cluster.key node1:/etc/lifeboat/cluster.key   # keep it 0600
Rotating the key: see "Rotating the archive key" in docs/security.md.`;

interface JsonFlag {
  json?: boolean;
}

interface InitFlags extends JsonFlag {
  dir: string;
  commonName?: string;
}

interface IssueFlags extends JsonFlag {
  role: Role;
  name: string;
  dns?: string[];
  ip?: string[];
  out?: string;
  docker?: boolean;
  prefix?: string;
  ca: string;
  days: number;
  force?: boolean;
  alsoTrust?: string[];
}

interface KeyFlags extends JsonFlag {
  path: string;
}

function collectList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return [...(previous ?? []), ...items];
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function parseDays(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > maxValidDays)
    throw new InvalidArgumentError(`use a whole number of days from 1 to ${maxValidDays}`);
  return n;
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** With --json, failures are JSON on stdout too, so scripts read one format; exit status 1 either way. */
async function run<F extends JsonFlag>(flags: F, action: (flags: F) => Promise<void>): Promise<void> {
  try {
    await action(flags);
  } catch (err) {
    if (flags.json !== true || !(err instanceof LifeboatError)) throw err;
    print(JSON.stringify({ error: err.toJSON() }, null, 2));
    process.exitCode = 1;
  }
}

function describeCert(pem: string): { subject: string; notAfter: string; fingerprint256: string } {
  const cert = new X509Certificate(pem);
  return {
    subject: cert.subject.split('\n').join(', '),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

async function init(flags: InitFlags): Promise<void> {
  const dir = resolve(flags.dir);
  const ca = await createClusterCa(
    dir,
    flags.commonName === undefined ? {} : { commonName: flags.commonName },
  );
  const about = describeCert(ca.certPem);
  if (flags.json === true) {
    print(
      JSON.stringify(
        { created: ca.created, dir, certPath: ca.certPath, keyPath: ca.keyPath, ...about },
        null,
        2,
      ),
    );
    return;
  }
  print(
    [
      ca.created
        ? `created cluster CA in ${dir}`
        : `cluster CA already exists in ${dir} (kept: a CA is never replaced)`,
      `  certificate  ${ca.certPath} (0644)`,
      `  private key  ${ca.keyPath} (0600): keep it on managers or offline`,
      `  subject      ${about.subject}`,
      `  expires      ${about.notAfter}`,
      `  sha256       ${about.fingerprint256}`,
      '',
      'next: issue certificates, e.g.',
      `  lifeboat cert issue --role manager --name NAME --ip ADDRESS${dir === DEFAULT_CA_DIR ? '' : ` --ca ${dir}`}`,
    ].join('\n'),
  );
}

function nextSteps(
  role: Role,
  name: string,
  dir: string,
  layout: CertLayout,
  paths: { caPath: string; certPath: string; keyPath: string },
): string[] {
  switch (role) {
    case 'client':
      return layout === 'docker'
        ? [
            'use it with the docker CLI (2376 is the TLS port of the Docker endpoint):',
            `  export DOCKER_HOST=tcp://MANAGER:2376 DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${dir}`,
            '  docker ps',
          ]
        : [
            'use it with the docker CLI:',
            `  docker --tlsverify --tlscacert ${paths.caPath} --tlscert ${paths.certPath} --tlskey ${paths.keyPath} -H tcp://MANAGER:2376 ps`,
            '(or issue without --prefix for a DOCKER_CERT_PATH directory)',
          ];
    case 'agent':
      return [
        `copy ${dir} to the host's ${defaultOutDir('agent', name)} (keep the key 0600), then:`,
        `  lifeboat agent --name ${name} --pki ${defaultOutDir('agent', name)} --address ADDRESS --manager MANAGER:PORT ...`,
      ];
    case 'manager':
      return [
        `start the manager with it (clients must dial one of the names above):`,
        `  lifeboat manage --name ${name} --pki ${dir} ...`,
      ];
  }
}

async function issue(flags: IssueFlags): Promise<void> {
  const ca = resolve(flags.ca);
  const out = resolve(flags.out ?? defaultOutDir(flags.role, flags.name));
  const layout: CertLayout = flags.prefix === undefined ? 'docker' : { prefix: flags.prefix };
  const opts: IssueToDirectoryOptions = { layout, validDays: flags.days, overwrite: flags.force === true };
  if (flags.dns !== undefined) opts.dnsNames = flags.dns;
  if (flags.ip !== undefined) opts.ipAddresses = flags.ip;
  if (flags.alsoTrust !== undefined && flags.alsoTrust.length > 0) {
    const extra = await Promise.all(flags.alsoTrust.map((p) => readTrustFile(p)));
    opts.extraTrustPem = extra.join('');
  }
  const { issued, paths } = await issueToDirectory(ca, flags.role, flags.name, out, opts);
  const names = [...issued.dnsNames.map((d) => `DNS:${d}`), ...issued.ipAddresses.map((i) => `IP:${i}`)];
  if (flags.json === true) {
    print(
      JSON.stringify(
        {
          role: issued.role,
          name: issued.name,
          serialNumber: issued.serialNumber,
          notBefore: issued.notBefore.toISOString(),
          notAfter: issued.notAfter.toISOString(),
          dnsNames: issued.dnsNames,
          ipAddresses: issued.ipAddresses,
          layout: layout === 'docker' ? 'docker' : 'prefix',
          dir: out,
          caPath: paths.caPath,
          certPath: paths.certPath,
          keyPath: paths.keyPath,
          fingerprint256: new X509Certificate(issued.certPem).fingerprint256,
        },
        null,
        2,
      ),
    );
    return;
  }
  print(
    [
      `issued ${issued.role} certificate "${issued.name}" (serial ${issued.serialNumber}, expires ${issued.notAfter.toISOString()})`,
      `  ca bundle    ${paths.caPath}`,
      `  certificate  ${paths.certPath}`,
      `  private key  ${paths.keyPath} (0600)`,
      ...(issued.role === 'client'
        ? []
        : [`  names        ${names.length > 0 ? names.join(', ') : '(none: pass --ip/--dns)'}`]),
      '',
      ...nextSteps(issued.role, issued.name, out, layout, paths),
    ].join('\n'),
  );
}

async function readTrustFile(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new ValidationError(
      `cannot read --also-trust ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ValidationError(`--also-trust ${path} holds no PEM certificate`, "pass the old CA's ca.pem");
  return pem.trimEnd() + '\n';
}

async function keyInit(flags: KeyFlags): Promise<void> {
  const path = resolve(flags.path);
  const key = await generateClusterKey(path);
  if (flags.json === true) {
    print(JSON.stringify({ path, keyId: key.id, mode: '0600' }, null, 2));
    return;
  }
  print(
    [
      `created cluster archive key ${path} (0600), key id ${key.id}`,
      '',
      'next: copy it to every agent and manager (keep it 0600) and pass it as --cluster-key;',
      'back it up: archives encrypted with it cannot be restored without it.',
    ].join('\n'),
  );
}

export function registerCert(program: Command): void {
  const cert = program
    .command('cert')
    .description('cluster PKI: the CA, manager/agent/client certificates, and the checkpoint archive key')
    .addHelpText('after', CERT_HELP);

  cert
    .command('init')
    .description('create the cluster CA (or show the existing one)')
    .option('--dir <dir>', 'CA directory', DEFAULT_CA_DIR)
    .option('--common-name <cn>', 'subject CN of the CA certificate (default "lifeboat cluster CA")')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', INIT_HELP)
    .action((flags: InitFlags) => run(flags, init));

  cert
    .command('issue')
    .description('issue a manager, agent or client certificate from the cluster CA')
    .addOption(
      new Option('--role <role>', 'who the certificate speaks for').choices(roles).makeOptionMandatory(),
    )
    .requiredOption('--name <name>', 'node name (manager, agent) or user name (client); becomes the CN')
    .option('--dns <name,...>', 'DNS names the holder serves under (repeatable)', collectList)
    .option('--ip <address,...>', 'IP addresses the holder serves on (repeatable)', collectList)
    .option(
      '--out <dir>',
      `output directory (default ${DEFAULT_PKI_ROOT}/<role>, clients ${DEFAULT_PKI_ROOT}/clients/<name>)`,
    )
    .addOption(
      new Option(
        '--docker',
        'write ca.pem, cert.pem, key.pem, usable as DOCKER_CERT_PATH (the default)',
      ).conflicts('prefix'),
    )
    .option(
      '--prefix <name>',
      'write ca.pem, <name>.pem, <name>-key.pem instead (identities sharing a directory)',
    )
    .option('--ca <dir>', 'CA directory to issue from', DEFAULT_CA_DIR)
    .addOption(
      new Option('--days <n>', `validity in days (1-${maxValidDays})`)
        .argParser(parseDays)
        .default(defaultValidDays),
    )
    .option('--force', 'replace an existing certificate and key in --out (re-issue, rotation)')
    .option(
      '--also-trust <ca.pem>',
      'another CA to trust besides the issuing one, e.g. the old CA during a rotation (repeatable)',
      collect,
    )
    .option('--json', 'print the result as JSON')
    .addHelpText('after', ISSUE_HELP)
    .action((flags: IssueFlags) => run(flags, issue));

  cert
    .command('revoke')
    .description('revoke a certificate: every manager refuses it from its next request on')
    .option('--cert <file>', 'the certificate to revoke (PEM): its serial, name and role are read from it')
    .option('--serial <hex>', 'or its serial number (with --name and --role)')
    .option('--name <name>', "the certificate's CN (with --serial)")
    .addOption(new Option('--role <role>', 'its role (with --serial)').choices([...roles]))
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Revocations live in the cluster store; managers refuse a revoked certificate on
the lifeboat API and on the Docker endpoint over TLS from the next request on,
and agents on their node API within a heartbeat (the list comes with every
heartbeat answer). A host's certificates are revoked by \`lifeboat node rm HOST\`;
this is for the rest: an operator's leaked client key, a manager's.

Examples:
  lifeboat cert revoke --cert ~/.lifeboat/alice/cert.pem
  lifeboat cert revoke --serial 5D0F3A... --name alice --role client`,
    )
    .action(async (f: { cert?: string; serial?: string; name?: string; role?: Role; json?: boolean }) => {
      let target: { serial: string; name: string; role: string };
      if (f.cert !== undefined) {
        const c = new X509Certificate(await readFile(f.cert));
        const subject = Object.fromEntries(
          c.subject.split('\n').map((l) => l.split('=') as [string, string]),
        );
        const role = roleFromOu(subject['OU']);
        if (role === undefined || !subject['CN'])
          throw new ValidationError(`${f.cert} is not a lifeboat certificate (no lifeboat role or no CN)`);
        target = { serial: c.serialNumber, name: subject['CN'], role };
      } else if (f.serial !== undefined && f.name !== undefined && f.role !== undefined) {
        target = { serial: f.serial, name: f.name, role: f.role };
      } else {
        throw new ValidationError(
          'say which certificate',
          'pass --cert FILE, or --serial with --name and --role',
        );
      }
      const { ManagerClient } = await import('../manager-client.ts');
      const { readContext } = await import('../context.ts');
      const c = await ManagerClient.open(readContext());
      const r = await c.request<{ serial: string; revokedAt: string }>(
        'POST',
        '/lifeboat/v1/certificates/revoke',
        target,
      );
      process.stdout.write(
        f.json
          ? JSON.stringify(r, null, 2) + '\n'
          : `revoked ${target.role} ${target.name} (serial ${r.serial}) at ${r.revokedAt}\n`,
      );
    });
  cert
    .command('ls')
    .description('certificates the cluster knows (issued by a join, or presented by a host) and revoked ones')
    .option('--json', 'print JSON')
    .action(async (f: { json?: boolean }) => {
      const { ManagerClient } = await import('../manager-client.ts');
      const { readContext } = await import('../context.ts');
      const c = await ManagerClient.open(readContext());
      const r = await c.request<{
        known: { serial: string; role: string; name: string; at: string; via: string }[];
        revoked: { serial: string; revokedAt: string; by: string }[];
      }>('GET', '/lifeboat/v1/certificates');
      if (f.json) {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      const revoked = new Map(r.revoked.map((x) => [x.serial, x]));
      const rows = [['SERIAL', 'ROLE', 'NAME', 'SINCE', 'HOW', 'STATE']];
      for (const k of r.known) {
        const x = revoked.get(k.serial);
        rows.push([
          k.serial,
          k.role,
          k.name,
          k.at,
          k.via === 'join' ? 'joined' : 'presented',
          x ? `revoked ${x.revokedAt} by ${x.by}` : 'valid',
        ]);
      }
      for (const x of r.revoked)
        if (!r.known.some((k) => k.serial === x.serial))
          rows.push([x.serial, '-', '-', '-', '-', `revoked ${x.revokedAt} by ${x.by}`]);
      const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
      for (const row of rows)
        process.stdout.write(
          row
            .map((v, i) => v.padEnd(w[i]!))
            .join('  ')
            .trimEnd() + '\n',
        );
    });

  const key = cert.command('key').description('the cluster key that encrypts checkpoint archives');
  key
    .command('init')
    .description('create a new cluster archive key file (never overwrites)')
    .option('--path <file>', 'key file to create', DEFAULT_CLUSTER_KEY_PATH)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', KEY_HELP)
    .action((flags: KeyFlags) => run(flags, keyInit));
}
