// What each kernel answers for an API x flag set on prefaulted, writable,
// private anonymous memory. The rules are the check suite's FOLL_LONGTERM
// gate (lib/check/expectations.ts), kept in one place as data.
import { expectationFor, longtermGate } from '../../lib/check/expectations.js';
import type { ApiName, FlagName } from '../../lib/index.js';
import { hostArch } from '../../lib/vm/paths.js';

export const FLAG_SETS: readonly (readonly FlagName[])[] = [[], ['write'], ['longterm'], ['write', 'longterm'], ['force']];

const GATE = longtermGate('');

/**
 * The answer for `nrPages` prefaulted pages: nrPages, or the gate's -errno.
 * `pinnablePrefix` is how many leading pages lie outside ZONE_MOVABLE: a
 * FOLL_PIN|FOLL_LONGTERM fast-only call stops at the first page it would
 * have to migrate (try_grab_folio(): !folio_is_longterm_pinnable() fails the
 * lockless walk, and *_fast_only has no slow path to migrate in).
 */
export function expectedAnswer(release: string, api: ApiName, flags: readonly FlagName[], nrPages: number, pinnablePrefix = nrPages): number {
  if (!flags.includes('longterm')) return nrPages;
  const row = expectationFor(GATE, api, release, hostArch());
  if (!row) return api === 'pin_user_pages_fast_only' ? pinnablePrefix : nrPages;
  if (row.answer.ret === undefined || row.answer.ret >= 0) throw new Error(`gate row for ${api} on ${release} is not a refusal`);
  return row.answer.ret;
}
