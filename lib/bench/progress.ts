import { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { Progress } from './engine.js';

/** Whether a progress bar belongs on this stream: a terminal, not CI, not --json. */
export function wantsBar(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): boolean {
  return !quiet && Boolean(stream.isTTY) && !process.env.CI;
}

function bar(stream: NodeJS.WriteStream): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { stream, format: 'guplab bench [{bar}] {value}/{total} ETA {eta_formatted} {label}', hideCursor: true, clearOnComplete: true, etaBuffer: 50 },
    cliProgress.Presets.shades_classic,
  );
}

const LINE = 'guplab-progress';

/**
 * A bar with ETA on a terminal; inside the VM (GUPLAB_PROGRESS_LINES=1)
 * progress lines on stdout that the host turns into its bar; else nothing.
 */
export function progressFor(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  let n = 0;
  if (process.env.GUPLAB_PROGRESS_LINES === '1' && !quiet) {
    return {
      start: (total) => process.stdout.write(`${LINE} start ${total}\n`),
      tick: (label) => process.stdout.write(`${LINE} ${n++} ${label}\n`),
      stop: () => process.stdout.write(`${LINE} end\n`),
    };
  }
  if (!wantsBar(quiet, stream)) return undefined;
  const b = bar(stream);
  return {
    start: (total) => b.start(total, 0, { label: '' }),
    tick: (label) => b.update(n++, { label }),
    stop: () => {
      b.update(n);
      b.stop();
    },
  };
}

/**
 * The host's side of a benchmark in the VM: guest output passes through to
 * `out`, except progress lines, which drive a bar on `stream` (a terminal) or
 * are dropped.
 */
export function hostProgressSink(showBar: boolean, out: NodeJS.WritableStream = process.stdout, stream: NodeJS.WriteStream = process.stderr): Writable {
  const b = showBar ? bar(stream) : undefined;
  let partial = '';
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const m = new RegExp(`^${LINE} (start|end|\\d+)(?: (.*))?$`).exec(line);
        if (!m) out.write(`${line}\n`);
        else if (m[1] === 'start') b?.start(Number(m[2]), 0, { label: '' });
        else if (m[1] === 'end') b?.stop();
        else b?.update(Number(m[1]), { label: m[2] ?? '' });
      }
      done();
    },
    final(done) {
      if (partial) out.write(partial);
      b?.stop();
      done();
    },
  });
}
