// Runner faults, from the host: real QEMU guests that hang with a silent
// console, panic, or end normally, booted side by side. Each must end with
// the right verdict and a saved console log, and no partial result file may
// come back to the host.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { vmRun, type VmRunResult } from '../../lib/vm/run.js';
import { resolveBootTarget } from '../../lib/kernels/resolve.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'guplab-runner-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Guest {
  result: VmRunResult;
  outDir: string;
  log: string[];
}

/** Boots the default kernel with `script` as the command; output kept, not printed. */
async function guest(name: string, script: string, timeoutSec: number): Promise<Guest> {
  const outDir = path.join(tmp, name);
  const log: string[] = [];
  const result = await vmRun({
    target: resolveBootTarget({}, (msg) => log.push(msg)),
    command: ['sh', '-c', script],
    memMiB: 512,
    timeoutSec,
    outDir,
    output: { write: () => true } as unknown as NodeJS.WritableStream,
    log: (msg) => log.push(msg),
  });
  return { result, outDir, log };
}

const files = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir) : []);
// A result half written when the guest died, and a writeFileAtomic temporary never renamed.
const HALF = 'printf \'{"half":\' > "$GUPLAB_VM_OUT/results.json"; printf x > "$GUPLAB_VM_OUT/.results.json.7.tmp"; sync';

describe('VM runner faults (3 guests at once)', () => {
  const guests = Promise.all([
    // Hangs after silencing its console: only the timeout can end it.
    guest('hang', `echo runner-test-hang; ${HALF}; exec >/dev/null 2>&1; sleep 3600`, 90),
    // Panics mid-run (panic=-1 and -no-reboot make QEMU exit).
    guest('panic', `echo runner-test-panic; ${HALF}; echo c > /proc/sysrq-trigger; sleep 600`, 300),
    // The control: a command that ends (status 3) has its whole files copied, temporaries left out.
    guest('ends', `echo runner-test-ends; ${HALF}; printf '{"whole":1}' > "$GUPLAB_VM_OUT/results.json"; exit 3`, 300),
  ]);

  it('kills a hung guest with a silent console at the timeout, saves its console, copies nothing back', async () => {
    const [hang] = await guests;
    expect(hang.result.status).toBeNull();
    expect(hang.result.problems[0]).toMatch(/^timed out after 90 s \(raise it with --timeout\)/);
    expect(hang.result.wallMs).toBeLessThan(150_000); // killed, not left to sleep out its hour
    expect(readFileSync(hang.result.consoleLogFile!, 'utf8')).toContain('runner-test-hang');
    expect(files(hang.outDir)).toEqual([]);
    expect(hang.log.join('\n')).toMatch(/nothing copied back .*did not finish its command/);
  }, 400_000);

  it('reports a guest panic with the panic line, saves its console, copies nothing back', async () => {
    const [, panic] = await guests;
    expect(panic.result.status).toBeNull();
    expect(panic.result.problems.join('\n')).toMatch(/stopped without reporting the command's status/);
    expect(panic.result.problems.join('\n')).toMatch(/the kernel reported trouble:[\s\S]*Kernel panic - not syncing: sysrq triggered crash/);
    const saved = readFileSync(panic.result.consoleLogFile!, 'utf8');
    expect(saved).toContain('runner-test-panic');
    expect(saved).toContain('Kernel panic');
    expect(files(panic.outDir)).toEqual([]);
  }, 400_000);

  it('passes a finished command through: its status, its whole files, no temporaries', async () => {
    const [, , ends] = await guests;
    expect(ends.result.problems).toEqual([]);
    expect(ends.result.status).toBe(3);
    expect(ends.result.consoleLogFile).toBeDefined(); // a non-zero status is a failed run: console kept
    expect(files(ends.outDir)).toEqual(['results.json']);
    expect(readFileSync(path.join(ends.outDir, 'results.json'), 'utf8')).toBe('{"whole":1}');
  }, 400_000);
});
