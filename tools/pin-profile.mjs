// A hot loop of 1-page pin_user_pages_fast through GupDevice.pin() (and,
// where the build has it, a prepared call), to run under node's CPU
// profiler in the guest:
//   node --cpu-prof --cpu-prof-dir=$GUPLAB_VM_OUT tools/pin-profile.mjs [calls] [pin|prepared]
// Then: node tools/cpuprofile-top.mjs FILE.cpuprofile
import { GupDevice, mapAnonymous } from '../dist/lib/index.js';

const calls = Number(process.argv[2] ?? 20000);
const how = process.argv[3] ?? 'pin';
const dev = GupDevice.open();
const m = mapAnonymous(4096, { populate: true });
try {
  const t0 = process.hrtime.bigint();
  if (how === 'prepared') {
    const p = dev.prepare('pin_user_pages_fast', m.address, 1);
    for (let i = 0; i < calls; i++) if (p.run() !== 1) throw new Error('prepared PIN of one page fell short');
  } else {
    for (let i = 0; i < calls; i++) if (dev.pin('pin_user_pages_fast', m.address, 1).ret !== 1) throw new Error('PIN of one page fell short');
  }
  const ns = Number(process.hrtime.bigint() - t0);
  console.log(`${how}: ${calls} calls, ${(ns / calls / 1000).toFixed(2)} us per call (wall, with the profiler on)`);
} finally {
  m.close();
  dev.close();
}
