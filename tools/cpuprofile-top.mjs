// The functions with the most self time in a .cpuprofile (node --cpu-prof):
//   node tools/cpuprofile-top.mjs FILE.cpuprofile [n]
import { readFileSync } from 'node:fs';

const [file, n = '15'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node tools/cpuprofile-top.mjs FILE.cpuprofile [n]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((node) => [node.id, node]));
const self = new Map();
const dt = prof.timeDeltas;
let total = 0;
prof.samples.forEach((id, i) => {
  const node = byId.get(id);
  const f = node.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
  const us = dt[i] ?? 0;
  total += us;
  self.set(key, (self.get(key) ?? 0) + us);
});
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
console.log(`${file}: ${(total / 1000).toFixed(0)} ms sampled; self time by function`);
for (const [key, us] of rows) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
