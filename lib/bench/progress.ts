import cliProgress from 'cli-progress';
import type { Progress } from './engine.js';

/** A bar with ETA on a terminal; nothing in CI, with --json, or when stderr is not a TTY. */
export function progressFor(quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress | undefined {
  if (quiet || !stream.isTTY || process.env.CI) return undefined;
  const bar = new cliProgress.SingleBar(
    { stream, format: 'guplab bench [{bar}] {value}/{total} cases, ETA {eta_formatted} {label}', hideCursor: true, clearOnComplete: true, etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  let n = 0;
  return {
    start: (total) => bar.start(total, 0, { label: '' }),
    tick: (label) => bar.update(n++, { label }),
    stop: () => {
      bar.update(n);
      bar.stop();
    },
  };
}
