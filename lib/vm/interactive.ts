// The host side of an interactive guest (guplab vm shell): QEMU's serial
// console bridged to the user's terminal, byte for byte, in raw mode (so
// line editing, Ctrl-C and Ctrl-D reach the guest's tty, not QEMU), with a
// live watchdog on the guest's kernel log that prints WARN/BUG/Oops as they
// happen. Plugged into the runner as its boot function (run.ts BootFn), so
// the kernel, module, guest setup and the verdict are vm run's own.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { END_MARK, kernelTrouble, parseExpectedWarnings, RUN_FILES, START_MARK } from '../contract.js';
import { missingProgramHint } from '../util/programs.js';
import { trackQemu, type Boot, type BootFn } from './run.js';

/** Ctrl-]: the escape key. Ctrl-] q kills the guest; Ctrl-] Ctrl-] sends one Ctrl-]. */
export const ESCAPE = 0x1d;

export interface TerminalIo {
  input: NodeJS.ReadStream;
  output: NodeJS.WritableStream;
  /** Where guplab's own lines go (the watchdog, the escape's notice); default output. */
  notice?: NodeJS.WritableStream;
}

export interface InteractiveOptions {
  io?: TerminalIo;
  /** Called once the guest wrote guplab.ko's section addresses (RUN_FILES.moduleSections), with the run folder. */
  onModuleSections?: (sections: Map<string, string>, ioDir: string) => void;
  /** Called with QEMU's pid once it started. */
  onQemu?: (pid: number) => void;
}

/**
 * Splits a stream of console bytes at the markers: before START_MARK is the
 * boot, after END_MARK the shutdown. Text that may be the start of a marker
 * split across reads is held back until the next chunk (or flush()).
 */
export class MarkerSplitter {
  phase: 'boot' | 'command' | 'shutdown' = 'boot';
  private held = '';

  /** Feeds a chunk; returns the command's part of it (what the user sees). */
  push(chunk: string): string {
    let text = this.held + chunk;
    this.held = '';
    if (this.phase === 'boot') {
      const at = text.indexOf(START_MARK);
      if (at < 0) {
        this.held = text.slice(Math.max(0, text.length - START_MARK.length));
        return '';
      }
      this.phase = 'command';
      const nl = text.indexOf('\n', at);
      text = nl < 0 ? '' : text.slice(nl + 1);
    }
    if (this.phase !== 'command') return '';
    const end = text.indexOf(END_MARK);
    if (end >= 0) {
      this.phase = 'shutdown';
      return text.slice(0, end);
    }
    // Hold back a tail that could begin END_MARK.
    for (let n = Math.min(END_MARK.length - 1, text.length); n > 0; n--) {
      if (END_MARK.startsWith(text.slice(text.length - n))) {
        this.held = text.slice(text.length - n);
        return text.slice(0, text.length - n);
      }
    }
    return text;
  }

  /** What is held back, when no more comes soon (a prompt that ends in "g"). */
  flush(): string {
    if (this.phase !== 'command') return '';
    const out = this.held;
    this.held = '';
    return out;
  }
}

/** The message of a /dev/kmsg record ("4,1234,5678,-;WARNING: ..."), or the line itself. */
export function kmsgMessage(record: string): string {
  const m = /^\d+,\d+,\d+,[^;]*;(.*)$/.exec(record);
  return m?.[1] ?? record;
}

/** Reads what was appended to a file since `offset`; returns the text and the new offset. */
function readNew(file: string, offset: number): [string, number] {
  if (!existsSync(file)) return ['', offset];
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    let text = '';
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, offset);
      if (n <= 0) break;
      offset += n;
      text += buf.subarray(0, n).toString('utf8');
    }
    return [text, offset];
  } finally {
    closeSync(fd);
  }
}

const SHUTDOWN_GRACE_MS = 30_000;

/** A boot function for vmRun that bridges QEMU's serial console to a terminal. */
export function interactiveBoot(options: InteractiveOptions = {}): BootFn {
  return ({ binary, args, timeoutMs, ioDir, verbose }) =>
    new Promise<Boot>((resolve, reject) => {
      const io = options.io ?? { input: process.stdin, output: process.stdout, notice: process.stderr };
      const notice = io.notice ?? io.output;
      const started = Date.now();
      let consoleLog = '';
      let bootToCommandMs: number | null = null;
      let timedOut = false;
      const split = new MarkerSplitter();
      const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      trackQemu(child);
      if (child.pid) options.onQemu?.(child.pid);
      const say = (msg: string): void => void notice.write(`\r\nguplab: ${msg}\r\n`);

      // The terminal: raw, so that every key (Ctrl-C, Ctrl-D, arrows) goes to the guest's tty.
      const input = io.input;
      const raw = input.isTTY === true;
      let escaped = false;
      const onKey = (data: Buffer): void => {
        if (split.phase !== 'command' || !child.stdin.writable) return;
        const out: number[] = [];
        for (const byte of data) {
          if (escaped) {
            escaped = false;
            if (byte === 0x71 /* q */) {
              say('Ctrl-] q: killing the guest');
              child.kill('SIGKILL');
              return;
            }
            out.push(ESCAPE);
            if (byte === ESCAPE) continue;
          } else if (byte === ESCAPE) {
            escaped = true;
            continue;
          }
          out.push(byte);
        }
        if (out.length) child.stdin.write(Buffer.from(out));
      };
      let terminalOn = false;
      // A resize: the new size goes to the run folder, where the guest picks it up.
      const sized = [io.output, process.stderr].find((s): s is NodeJS.WriteStream =>
        Boolean((s as NodeJS.WriteStream).isTTY && (s as NodeJS.WriteStream).rows),
      );
      const onResize = (): void => {
        if (!sized) return;
        const file = path.join(ioDir, RUN_FILES.termSize);
        writeFileSync(`${file}.tmp`, `${sized.rows} ${sized.columns}\n`);
        renameSync(`${file}.tmp`, file);
      };
      const startTerminal = (): void => {
        terminalOn = true;
        sized?.on('resize', onResize);
        if (raw) (input as NodeJS.ReadStream & { setRawMode(m: boolean): void }).setRawMode(true);
        input.on('data', onKey);
        input.resume();
      };
      const stopTerminal = (): void => {
        if (!terminalOn) return;
        terminalOn = false;
        sized?.off('resize', onResize);
        input.off('data', onKey);
        if (raw) (input as NodeJS.ReadStream & { setRawMode(m: boolean): void }).setRawMode(false);
        input.pause();
      };

      // The watchdog: the guest copies /dev/kmsg to the run folder as it grows.
      const kmsgFile = path.join(ioDir, RUN_FILES.kmsgLive);
      const expectedFile = path.join(ioDir, RUN_FILES.expectedWarnings);
      const sectionsFile = path.join(ioDir, RUN_FILES.moduleSections);
      let kmsgOffset = 0;
      let kmsgPartial = '';
      let sectionsSeen = false;
      const watch = setInterval(() => {
        const [text, next] = readNew(kmsgFile, kmsgOffset);
        kmsgOffset = next;
        if (text) {
          const lines = (kmsgPartial + text).split('\n');
          kmsgPartial = lines.pop() ?? '';
          const messages = lines.map(kmsgMessage);
          const expected = existsSync(expectedFile) ? parseExpectedWarnings(readFileSync(expectedFile, 'utf8')) : [];
          for (const line of kernelTrouble(messages.join('\n'), expected)) say(`kernel: \x1b[1;31m${line}\x1b[0m`);
        }
        if (!sectionsSeen && options.onModuleSections && existsSync(sectionsFile)) {
          const sections = new Map(
            readFileSync(sectionsFile, 'utf8')
              .split('\n')
              .filter(Boolean)
              .map((l) => l.split('\t') as [string, string]),
          );
          if (sections.has('.text')) {
            sectionsSeen = true;
            options.onModuleSections(sections, ioDir);
          }
        }
      }, 300);

      const timer = setTimeout(() => {
        timedOut = true;
        say(`timed out after ${Math.round(timeoutMs / 1000)} s: killing the guest`);
        child.kill('SIGKILL');
      }, timeoutMs);
      let flushTimer: NodeJS.Timeout | undefined;
      let bootPartial = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        consoleLog += chunk;
        const before = split.phase;
        if (before === 'boot' && verbose) {
          const lines = (bootPartial + chunk).split('\n');
          bootPartial = lines.pop() ?? '';
          for (const l of lines) if (!l.includes(START_MARK)) io.output.write(`${l}\n`);
        }
        const shown = split.push(chunk);
        if (before === 'boot' && split.phase !== 'boot') {
          bootToCommandMs = Date.now() - started;
          startTerminal();
        }
        if (shown) io.output.write(shown);
        clearTimeout(flushTimer);
        flushTimer = setTimeout(() => {
          const rest = split.flush();
          if (rest) io.output.write(rest);
        }, 50);
        if (before !== 'shutdown' && split.phase === 'shutdown') {
          stopTerminal();
          // A kernel that cannot power off halts: the status is in by then.
          setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_GRACE_MS).unref();
        }
        if (split.phase === 'shutdown' && /System halted/.test(chunk)) child.kill('SIGKILL');
      });
      child.stderr.on('data', (chunk: Buffer) => {
        consoleLog += chunk.toString('utf8');
      });
      const finish = (): void => {
        clearTimeout(timer);
        clearTimeout(flushTimer);
        clearInterval(watch);
        stopTerminal();
        child.stdin.destroy();
      };
      child.on('error', (err) => {
        finish();
        reject(new Error(`cannot start ${binary}: ${missingProgramHint(binary)}`, { cause: err }));
      });
      child.on('exit', (code) => {
        finish();
        resolve({ exitCode: code, console: consoleLog, bootToCommandMs, timedOut, stalled: false, wallMs: Date.now() - started });
      });
    });
}
