/**
 * System services that some suites need, and `describeWith(service)` to declare such a suite.
 * test/setup/services.ts checks once per run which ones are installed: a missing one skips its
 * suites (one visible line says how to install it), or fails the run under REQUIRE_SERVICES=1.
 */
import { describe, inject } from 'vitest';

export const SERVICES = {
  redis: {
    name: 'redis-server',
    binary: () => process.env.REDIS_SERVER_BIN ?? 'redis-server',
    probeArgs: ['--version'],
    purpose: 'the Redis backend of the feedback store',
    install: 'apt-get install redis-server (or bash .ci/setup-services.sh)',
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

declare module 'vitest' {
  export interface ProvidedContext {
    services: Record<ServiceName, boolean>;
  }
}

/** True when the service was found by the global setup. */
export function hasService(name: ServiceName): boolean {
  return inject('services')?.[name] ?? false;
}

/** `describe` for a suite that needs `service`: skipped (named in the run's output) when it is missing. */
export function describeWith(service: ServiceName): typeof describe {
  return describe.skipIf(!hasService(service)) as unknown as typeof describe;
}
