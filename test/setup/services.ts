/**
 * Vitest global setup: finds the system services some suites need (test/helpers/services.ts:
 * redis-server, chromium, …) once per run, and tells every test file through `inject('services')`.
 *
 * A missing service skips the suites that need it, with one line saying how to install it, so
 * `npm test` passes on a machine with only Node and npm. CI sets REQUIRE_SERVICES=1 (see
 * `.ci/run`): then a missing service fails the run before any test starts, so a suite can never
 * be skipped there without anyone noticing.
 */
import { spawnSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { SERVICES, type ServiceName } from '../helpers/services.js';

function installed(command: string, args: readonly string[]): boolean {
  const probe = spawnSync(command, [...args], { stdio: 'ignore', timeout: 10_000 });
  return probe.error === undefined && probe.status === 0;
}

export default function setup(project: TestProject): void {
  const available = {} as Record<ServiceName, boolean>;
  const missing: ServiceName[] = [];
  for (const [name, service] of Object.entries(SERVICES) as [ServiceName, (typeof SERVICES)[ServiceName]][]) {
    available[name] = installed(service.binary(), service.probeArgs);
    if (!available[name]) missing.push(name);
  }
  const required = /^(1|true|yes)$/i.test(process.env.REQUIRE_SERVICES ?? '');
  if (missing.length > 0 && required) {
    throw new Error(
      `REQUIRE_SERVICES is set but ${missing.map((m) => SERVICES[m].name).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing: ` +
        missing.map((m) => SERVICES[m].install).join('; '),
    );
  }
  for (const name of missing) {
    console.warn(`skipped: the suites that need ${SERVICES[name].name} (${SERVICES[name].purpose}); to run them: ${SERVICES[name].install}`);
  }
  project.provide('services', available);
}
