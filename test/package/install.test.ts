// guplab as a dependency: `npm pack`, an install (--prefer-offline) into an empty
// project, a type-checked consumer, and `npx guplab vm run` of the
// consumer's own file from that project (the module built from the package's
// kmod/, the kernel from the shared cache). Boots one guest.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/util/root.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'guplab-consumer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs a command without blocking the test worker (a blocked worker misses vitest's RPC timeouts). */
function run(cmd: string, args: string[], cwd: string): Promise<{ status: number | null; out: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, out, stdout }));
  });
}

/** run(), and its stdout when it exits 0; else an error with its output. */
async function sh(cmd: string, args: string[], cwd: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.out}`);
  return r.stdout;
}

describe('npm pack, install into an empty project, run its own file in the VM', () => {
  let tarball = '';

  it('packs a tarball with the built library, both prebuilt addons and the module source, and no tests', async () => {
    // What prepack does, made explicit so that npm pack's own output stays JSON.
    await sh('make', ['-s', 'build', 'prebuilds'], projectRoot);
    const packed = JSON.parse(await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], projectRoot)) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = packed[0]!.files.map((f) => f.path);
    tarball = path.join(work, packed[0]!.filename);
    for (const f of [
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/cli.js',
      'dist/lib/guest.js',
      'bin/guplab.js',
      'kmod/main.c',
      'kmod/mirror.c',
      'kmod/internal.h',
      'kmod/uapi/guplab.h',
      'prebuilds/linux-x64/node.napi.node',
      'prebuilds/linux-arm64/node.napi.node',
      'LICENSE',
      'package.json',
    ])
      expect(files).toContain(f);
    // The committed check reports: the evidence behind every "measured" provenance (lib/check/evidence.ts).
    expect(files.filter((f) => /^docs\/data\/check-.+\.json$/.test(f)).length).toBeGreaterThan(0);
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('.ci/') || f.endsWith('.map'))).toEqual([]);
  }, 600_000);

  it('installs (from the npm cache where it can) and type-checks a consumer importing guplab', async () => {
    const project = path.join(work, 'consumer');
    await sh('mkdir', ['-p', project], work);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project);
    expect(readdirSync(path.join(project, 'node_modules', 'guplab'))).toContain('prebuilds');
    writeFileSync(
      path.join(project, 'consumer.ts'),
      [
        "import { GupDevice, mapAnonymous, type PinResult } from 'guplab';",
        "import { runBench, type BenchResult } from 'guplab/bench';",
        "import { vmRun } from 'guplab/vm';",
        'export const use: [typeof GupDevice, typeof mapAnonymous, typeof runBench, typeof vmRun] = [GupDevice, mapAnonymous, runBench, vmRun];',
        'export type T = [PinResult, BenchResult];',
        '',
      ].join('\n'),
    );
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          types: ['node'],
          typeRoots: [path.join(projectRoot, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    await sh(process.execPath, [path.join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
  }, 300_000);

  it("runs the consumer's own file in the VM from its project, pinning its own buffer, with nothing downloaded again", async () => {
    const project = path.join(work, 'consumer');
    writeFileSync(
      path.join(project, 'consumer.mjs'),
      [
        "import { GupDevice, mapAnonymous } from 'guplab';",
        'const dev = GupDevice.open();',
        'const m = mapAnonymous(16 * 4096, { populate: true });',
        "const r = dev.pin('pin_user_pages_fast', m.address, 16, { flags: ['write'] });",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the consumer's own template literal, written to its file
        'console.log(`consumer pinned ${r.ret} pages in ${process.cwd()}`);',
        'process.exit(r.ret === 16 ? 0 : 1);',
        '',
      ].join('\n'),
    );
    // The checkout fetches the kernel into the shared cache (if not there yet); the installed copy must reuse it.
    await sh(process.execPath, ['-e', "import('./dist/lib/kernels/kernel.js').then((k) => k.ensureKernel('6.1', 'x86_64', () => {}))"], projectRoot);
    const r = await run('npx', ['guplab', 'vm', 'run', '--', 'node', './consumer.mjs'], project);
    expect(r.out).toContain(`consumer pinned 16 pages in ${project}`);
    expect(r.out).toMatch(/cached: kernel/);
    expect(r.out).not.toMatch(/downloading/);
    expect(r.status).toBe(0);
  }, 900_000);
});
