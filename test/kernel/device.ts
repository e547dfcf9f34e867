// Kernel tests need /dev/guplab. Where it is absent they skip with the
// reason printed, unless GUPLAB_REQUIRE_DEVICE=1 (set by the VM runner),
// where its absence is a failure.
import { existsSync } from 'node:fs';

export const DEVICE = '/dev/guplab';
export const hasDevice = existsSync(DEVICE);

if (!hasDevice) {
  if (process.env.GUPLAB_REQUIRE_DEVICE === '1') {
    throw new Error(`${DEVICE} is missing although GUPLAB_REQUIRE_DEVICE=1: the module did not load in the guest (read its console)`);
  }
  console.warn(`SKIP kernel tests: ${DEVICE} is absent (run them in the VM with \`make test-vm\`, or \`make load\` on bare metal)`);
}
