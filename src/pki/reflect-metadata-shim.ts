/**
 * @peculiar/x509 2.x pulls in tsyringe, which refuses to load unless a
 * Reflect metadata polyfill (reflect-metadata, core-js) is installed, and the
 * project does not depend on one. tsyringe only records and reads
 * constructor metadata, so these three functions are all it needs. They are
 * added only where missing, so a real polyfill loaded earlier wins.
 */
type MetadataKey = string | symbol;
const store = new WeakMap<object, Map<MetadataKey, unknown>>();

function own(target: object): Map<MetadataKey, unknown> | undefined {
  return store.get(target);
}

const shim = {
  defineMetadata(key: MetadataKey, value: unknown, target: object): void {
    let map = own(target);
    if (map === undefined) {
      map = new Map();
      store.set(target, map);
    }
    map.set(key, value);
  },
  getOwnMetadata(key: MetadataKey, target: object): unknown {
    return own(target)?.get(key);
  },
  getMetadata(key: MetadataKey, target: object): unknown {
    for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
      const map = own(t);
      if (map?.has(key) === true) return map.get(key);
    }
    return undefined;
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(shim)) {
  if (typeof reflect[name] !== 'function') reflect[name] = fn;
}
