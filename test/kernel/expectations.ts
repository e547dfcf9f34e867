// What each kernel answers for an API x flag set on prefaulted, writable,
// private anonymous memory. The rules are the check suite's FOLL_LONGTERM
// gate (lib/check/expectations.ts), kept in one place as data.
import { expectationFor, longtermGate } from '../../lib/check/expectations.js';
import { errnoName, type ApiName, type FlagName } from '../../lib/index.js';
import { hostArch } from '../../lib/vm/paths.js';

export const FLAG_SETS: readonly (readonly FlagName[])[] = [[], ['write'], ['longterm'], ['write', 'longterm'], ['force']];

const GATE = longtermGate('');

/** The answer for `nrPages` prefaulted pages: nrPages, or the gate's -errno. */
export function expectedAnswer(release: string, api: ApiName, flags: readonly FlagName[], nrPages: number): number {
  if (!flags.includes('longterm')) return nrPages;
  const row = expectationFor(GATE, api, release, hostArch());
  if (!row) return nrPages;
  const errno = [...Array(200).keys()].find((n) => `-${errnoName(-n)}` === row.answer);
  if (errno === undefined) throw new Error(`gate answer ${row.answer} is not an errno`);
  return -errno;
}
