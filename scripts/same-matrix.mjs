// The merged matrix of a CI engine's jobs against the one built here from
// test-vm's check reports: same columns, and for the probes the jobs ran,
// the same answer in every cell.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { buildMatrix, byKernel, columnName } from '../dist/lib/check/matrix.js';

const [mergedFile, reportsDir] = process.argv.slice(2);
const merged = JSON.parse(readFileSync(mergedFile, 'utf8'));
const probes = new Set(merged.rows.map((r) => r.probe));
const reports = readdirSync(reportsDir)
  .filter((f) => /^check-.*\.json$/.test(f))
  .map((f) => JSON.parse(readFileSync(path.join(reportsDir, f), 'utf8')))
  .filter((r) => merged.columns.includes(columnName(r)))
  .sort(byKernel)
  .map((r) => ({ ...r, probes: r.probes.filter((p) => probes.has(p.id)) }));
const local = buildMatrix(reports);
const cells = (m) => m.rows.map((r) => `${r.probe} ${r.case}: ${r.cells.join(' | ')}`);
const a = cells(merged);
const b = cells(local);
const diff = a.filter((x) => !b.includes(x)).concat(b.filter((x) => !a.includes(x)));
if (merged.columns.join() !== local.columns.join() || diff.length || a.length === 0) {
  console.error(
    `guplab: the merged matrix differs from the local one (${merged.columns.join(', ')} vs ${local.columns.join(', ')}):\n  ${diff.slice(0, 20).join('\n  ')}`,
  );
  process.exit(1);
}
console.log(`guplab: merged matrix of the CI engine's jobs equals the local one: ${a.length} cases over ${merged.columns.join(', ')}`);
