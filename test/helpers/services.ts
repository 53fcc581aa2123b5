/**
 * System services that some suites need, and `describeWith(service)` to declare such a suite.
 * test/setup/services.ts checks once per run which ones are installed: a missing one skips its
 * suites (one visible line says how to install it), or fails the run under REQUIRE_SERVICES=1.
 */
import path from 'node:path';
import { describe, inject } from 'vitest';

/** A file that exists once bench/peer's packages are installed. */
const PEER_MARKER = path.resolve('bench/peer/node_modules/@langchain/community/package.json');

export const SERVICES = {
  redis: {
    name: 'redis-server',
    binary: () => process.env.REDIS_SERVER_BIN ?? 'redis-server',
    probeArgs: ['--version'],
    purpose: 'the Redis backend of the feedback store',
    install: 'apt-get install redis-server (or bash .ci/setup-services.sh)',
  },
  pty: {
    name: 'script (util-linux)',
    binary: () => 'script',
    probeArgs: ['--version'],
    purpose: 'running a command on a pseudo-terminal, as a person does',
    install: 'apt-get install bsdutils',
  },
  chromium: {
    name: 'chromium',
    binary: () => chromiumPath(),
    probeArgs: ['--version'],
    purpose: 'opening the staff report in a real browser (headless, driven by puppeteer-core)',
    install: 'apt-get install chromium (or bash .ci/setup-services.sh)',
  },
  langchainPeer: {
    name: 'the LangChain.js benchmark peer',
    binary: () => process.execPath,
    probeArgs: ['-e', `process.exit(require('node:fs').existsSync(${JSON.stringify(PEER_MARKER)}) ? 0 : 1)`],
    purpose: "the LangChain.js columns of the benchmark's smoke test",
    install: 'npm ci --prefix bench/peer (npm run bench does it on first use)',
  },
} as const;

export type ServiceName = keyof typeof SERVICES;

/** Debian's chromium (CHROMIUM_PATH to use another build); puppeteer-core downloads none. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

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
