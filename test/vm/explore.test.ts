// vm shell from the host, driven through a pseudo-terminal (util-linux
// script): a REPL session on a two-node NUMA guest with the gdb stub (a pin
// typed at the prompt and its answer read back, Ctrl-C to the guest, a gdb
// batch session that reads the kernel's linux_banner through the stub and
// guplab.ko's symbols, a WARN printed by the watchdog as it happens, Ctrl-D
// powers off, no QEMU left), then a shell
// session where pages pinned under numactl --membind come from that node.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/util/root.js';

const KERNEL = process.env.GUPLAB_EXPLORE_KERNEL ?? '6.1';
const ARCH = process.env.GUPLAB_EXPLORE_ARCH ?? 'x86_64';
const quote = (w: string): string => `'${w.replaceAll("'", `'\\''`)}'`;

/** guplab vm shell on a pseudo-terminal; `until` waits for output matching a pattern after a mark. */
class Pty {
  readonly child: ChildProcessWithoutNullStreams;
  out = '';
  private mark = 0;
  readonly exited: Promise<number | null>;
  constructor(args: string[]) {
    const cmd = ['node', path.join(projectRoot, 'bin', 'guplab.js'), 'vm', 'shell', ...args].map(quote).join(' ');
    this.child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: projectRoot, env: { ...process.env, TERM: 'xterm' } });
    this.child.stdout.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.child.stderr.on('data', (d: Buffer) => (this.out += d.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', resolve));
  }
  type(text: string): void {
    this.mark = this.out.length;
    this.child.stdin.write(text);
  }
  /** Waits for `pattern` in what the terminal showed since the last type() (or since the start). */
  async until(pattern: RegExp, timeoutMs: number, fromStart = false): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // The REPL draws with escape sequences (cursor moves, colours): matched without them.
      const m = pattern.exec(this.out.slice(fromStart ? 0 : this.mark).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''));
      if (m) return m;
      if (Date.now() > deadline || this.child.exitCode !== null)
        throw new Error(`no ${pattern} in the terminal within ${timeoutMs} ms; it shows:\n${this.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const BOOT_MS = 600_000;

describe(`vm shell on ${KERNEL} ${ARCH}, through a pseudo-terminal`, () => {
  it('--repl --numa 2 --gdb: a pin typed at the prompt, Ctrl-C, gdb reads the kernel, a WARN shown as it happens, Ctrl-D powers off and leaves no QEMU', async () => {
    const port = await freePort();
    const t = new Pty(['--kernel', KERNEL, '--arch', ARCH, '--repl', '--numa', '2', '--gdb', String(port)]);
    try {
      const qemuPid = Number((await t.until(/QEMU pid (\d+)/, BOOT_MS))[1]);
      await t.until(/guplab> /, BOOT_MS);

      t.type('[nodes(), dev.info().release]\r');
      const [, online, release] = await t.until(/\[ '(.*?)', '(.*?)' \]/, 120_000);
      expect(online).toBe('0-1');

      t.type(
        "m = mapAnonymous(2 << 20, { thp: 'on', populate: true }); r = dev.pin('pin_user_pages_fast', m.address, 16, { flags: ['write', 'longterm'], facts: true }); [r.ret, r.facts.length, r.facts[0].kinds[0], r.facts[0].folioOrder >= 0]\r",
      );
      expect((await t.until(/\[ (-?\d+), (\d+), '(\w+)', (true|false) \]/, 120_000)).slice(1)).toEqual(['16', '16', 'anon', 'true']);

      // Ctrl-C reaches the guest's REPL (not QEMU): a busy loop is broken and the guest lives on.
      t.type('while (true) {}\r');
      await new Promise((r) => setTimeout(r, 3000));
      t.type('\x03');
      await t.until(/Script execution was interrupted/, 60_000);
      t.type("'alive ' + 6 * 7\r");
      await t.until(/'alive 42'/, 60_000);

      // gdb through the stub, with the command guplab printed.
      const gdb = (await t.until(/attach with\s+(gdb [^\r\n]*)/, 60_000, true))[1]!;
      const batch = `${gdb} -batch -ex 'x/s &linux_banner' -ex 'info address guplab_ioctl' -ex 'info line guplab_ioctl' -ex 'break pin_user_pages_fast' -ex 'info symbol $pc' -ex detach`;
      const gdbOut = await new Promise<string>((resolve, reject) =>
        execFile('sh', ['-c', batch], { timeout: 120_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${batch}\n${stdout}${stderr}`, { cause: err })) : resolve(stdout + stderr),
        ),
      );
      expect(gdbOut).toMatch(new RegExp(`<linux_banner>:\\s+"Linux version ${release!.replace(/[.+]/g, '\\$&')} `));
      expect(gdbOut).toMatch(/Symbol "guplab_ioctl" is a function at address 0xffff/);
      expect(gdbOut).toMatch(/Line \d+ of "[^"]*kmod-[0-9a-f]+[^"]*\/main\.c" starts at address 0xffff/);
      expect(gdbOut).toMatch(/Breakpoint 1 at 0xffff/);
      expect(gdbOut).toMatch(/Detaching|detached/);
      t.type("'after gdb ' + 1\r");
      await t.until(/'after gdb 1'/, 60_000);

      // The watchdog: a flag this kernel answers with WARN_ON_ONCE (dev.info().warnFlags, root only),
      // undeclared, is printed above the prompt as it happens, and the run ends as kernel trouble (123).
      t.type('w = API_NAMES.flatMap((a) => dev.info().warnFlags[a].map((f) => [a, f]))[0]; [w[0], w[1], dev.pin(w[0], m.address, 1, { flags: [w[1]] }).ret]\r');
      await t.until(/guplab: kernel: WARNING: .*mm\/gup\.c/, 60_000);

      t.type('\x04');
      expect(await t.exited).toBe(123);
      // The session as the terminal showed it, for README's recording (GUPLAB_EXPLORE_TRANSCRIPT=FILE).
      const transcript = process.env.GUPLAB_EXPLORE_TRANSCRIPT;
      if (transcript) writeFileSync(transcript, t.out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''));
      expect(t.out).toMatch(/exit 0\b[\s\S]*the kernel reported trouble/);
      expect(alive(qemuPid)).toBe(false);
    } finally {
      t.child.kill('SIGKILL');
    }
  }, 1_200_000);

  it('a shell on a two-node guest: /sys/devices/system/node has two nodes, pages pinned under numactl --membind=N come from node N', async () => {
    const t = new Pty(['--kernel', KERNEL, '--arch', ARCH, '--numa', '1G,cpus=0', '--numa', '1G,cpus=1']);
    try {
      const qemuPid = Number((await t.until(/QEMU pid (\d+)/, BOOT_MS))[1]);
      await t.until(/# /, BOOT_MS);
      t.type('ls -d /sys/devices/system/node/node* | wc -l | sed s/^/nodes=/\r');
      expect((await t.until(/nodes=(\d+)/, 60_000))[1]).toBe('2');
      for (const node of [1, 0]) {
        t.type(`numactl --membind=${node} node test/vm/numa-pin.mjs\r`);
        const result = JSON.parse((await t.until(/numa-pin (\{.*\})/, 120_000))[1]!) as { ret: number; pages: number; nodes: number[]; numaMaps: string };
        expect(result.ret).toBe(result.pages);
        expect(result.nodes).toEqual([node]);
        expect(result.numaMaps).toMatch(new RegExp(`bind:${node} .*N${node}=512`));
      }
      t.type('exit 7\r');
      expect(await t.exited).toBe(7);
      expect(alive(qemuPid)).toBe(false);
    } finally {
      t.child.kill('SIGKILL');
    }
  }, 1_200_000);
});
