// The only way into @peculiar/x509 in lifeboat: the shim must run before the library loads.
import './reflect-metadata-shim.ts';

export * from '@peculiar/x509';
