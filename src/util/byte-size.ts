import { ValidationError } from './errors.ts';

/** Sizes as Docker and operators write them: `100000` (bytes), `64k`, `10m`, `1.5g`, `2t`, `512MiB`; binary units. */
export function byteSize(v: string, where: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(v.trim());
  if (!m) throw new ValidationError(`${where}: invalid size "${v}" (e.g. 10m, 1g)`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.floor(Number(m[1]) * unit);
}
