// make check's kernel-style step: checkpatch.pl (from Debian's linux-source,
// cached) on kmod/. Needs the TypeScript build (dist/).
const { checkpatch } = await import('../dist/lib/jobs/checkpatch.js');
process.exitCode = checkpatch((m) => console.error(`guplab: ${m}`));
