import type { webcrypto } from 'node:crypto';
import * as x509 from './x509.ts';
import { cryptoImpl } from './ca.ts';
import { PkiError } from './errors.ts';
import { generateKeyPair } from './issue.ts';

/** The names a joining host asks for: its node name (the CN) and the addresses others dial it at. */
export interface RequestedNames {
  name: string;
  dnsNames?: string[];
  ipAddresses?: string[];
}

const ecdsaSha256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const SAN_OID = '2.5.29.17';

/**
 * A fresh ECDSA P-256 key and a PKCS#10 request for it, made on the host
 * that will use the key: the request (public key and names) travels to the
 * CA, the key never does.
 */
export async function createCertificateRequest(
  names: RequestedNames,
): Promise<{ csrPem: string; keyPem: string }> {
  const { keys, keyPem } = await generateKeyPair();
  const alt = [
    ...(names.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(names.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: [{ CN: [names.name] }],
      keys,
      signingAlgorithm: ecdsaSha256,
      extensions: alt.length > 0 ? [new x509.SubjectAlternativeNameExtension(alt)] : [],
    },
    cryptoImpl,
  );
  return { csrPem: csr.toString('pem') + '\n', keyPem };
}

function badRequest(message: string, hint?: string): PkiError {
  return new PkiError('pki_bad_csr', message, { status: 400, ...(hint ? { hint } : {}) });
}

/**
 * Reads a PKCS#10 request and proves its sender holds the key (the request's
 * signature). Only the CN and the subject alternative names are taken from
 * it; the role comes from the join token, never from the request.
 */
export async function readCertificateRequest(
  csrPem: string,
): Promise<Required<RequestedNames> & { publicKey: webcrypto.CryptoKey }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw badRequest(
      `the certificate request is not a PEM PKCS#10 request: ${(err as Error).message}`,
      'send what `lifeboat join` makes',
    );
  }
  const algorithm = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256')
    throw badRequest(
      `the request's key is ${algorithm.name} ${algorithm.namedCurve ?? ''}; lifeboat signs ECDSA P-256 keys only`.replace(
        /\s+;/,
        ';',
      ),
    );
  if (!(await csr.verify(cryptoImpl)))
    throw badRequest("the request's signature does not match its key", 'make a new request');
  const cn = csr.subjectName.getField('CN');
  if (cn.length !== 1 || cn[0] === undefined || cn[0] === '')
    throw badRequest('the request names no host (one CN expected)', 'pass --name to `lifeboat join`');
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const san = csr.getExtension(SAN_OID);
  if (san !== null) {
    const ext = new x509.SubjectAlternativeNameExtension(san.rawData);
    for (const n of ext.names.items) {
      if (n.type === 'dns') dnsNames.push(n.value);
      else if (n.type === 'ip') ipAddresses.push(n.value);
      else
        throw badRequest(
          `the request asks for a ${n.type} name; lifeboat certificates carry DNS names and IP addresses only`,
        );
    }
  }
  return {
    name: cn[0],
    dnsNames,
    ipAddresses,
    publicKey: await csr.publicKey.export({ name: 'ECDSA', namedCurve: 'P-256' }, ['verify'], cryptoImpl),
  };
}
