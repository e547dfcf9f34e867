// Holds N pinned pages through /dev/guplab, then waits to be killed
// ("once": exits 0 after holding). Exit 3 with the message when HOLD fails.
import { GupDevice, mapAnonymous } from '../../dist/lib/index.js';

const pages = Number(process.argv[2] ?? '1024');
const once = process.argv[3] === 'once';
const dev = GupDevice.open();
const m = mapAnonymous(pages * 4096, { populate: true });
try {
  const r = dev.pin('pin_user_pages_fast', m.address, pages, { hold: true, flags: ['write'] });
  process.stdout.write(`held ${r.ret}\n`);
} catch (err) {
  process.stderr.write(`${err.code}: ${err.message}\n`);
  process.exit(3);
}
// The device must stay reachable: a collected GupDevice closes its fd, and
// the module then releases every pin it held (seen: pins gone within 2 s).
if (!once) setInterval(() => [dev, m], 1 << 30);
