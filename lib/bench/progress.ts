import { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { ENV, formatProgress, parseProgress } from '../contract.js';
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

/**
 * A bar with ETA on a terminal; inside the VM ($GUPLAB_PROGRESS_LINES=1)
 * progress lines on stdout that the host turns into its bar; else nothing.
 */
export function progressFor(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  let n = 0;
  if (process.env[ENV.progressLines] === '1' && !quiet) {
    const line = (e: Parameters<typeof formatProgress>[0]): boolean => process.stdout.write(`${formatProgress(e)}\n`);
    return {
      start: (total) => line({ kind: 'start', total }),
      tick: (label) => line({ kind: 'tick', index: n++, label }),
      stop: () => line({ kind: 'end' }),
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
        const e = parseProgress(line);
        if (!e) out.write(`${line}\n`);
        else if (e.kind === 'start') b?.start(e.total, 0, { label: '' });
        else if (e.kind === 'end') b?.stop();
        else b?.update(e.index, { label: e.label });
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
