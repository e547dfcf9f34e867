// What each kernel answers for an API x flag set on prefaulted, writable,
// private anonymous memory, kept as data and derived from mm/gup.c of each
// version (the deciding function is named per rule).
import type { ApiName, FlagName } from '../../lib/index.js';

export const FLAG_SETS: readonly (readonly FlagName[])[] = [[], ['write'], ['longterm'], ['write', 'longterm'], ['force']];

const EINVAL = -22;

interface Rule {
  /** Kernel versions [from, to) as major*100+minor. */
  since: number;
  until: number;
  apis: readonly ApiName[];
  /** The rule applies when the call's flags include all of these. */
  flags: readonly FlagName[];
  answer: number;
  why: string;
}

const GET_APIS: readonly ApiName[] = [
  'get_user_pages_fast',
  'get_user_pages_unlocked',
  'get_user_pages',
  'get_user_pages_remote',
];

export const RULES: readonly Rule[] = [
  {
    since: 0, until: 603, apis: GET_APIS, flags: ['longterm'], answer: EINVAL,
    why: '6.1 is_valid_gup_flags(): WARN_ON_ONCE(gup_flags & FOLL_LONGTERM) for FOLL_GET callers (not get_user_pages_fast_only, which checks no flags)',
  },
  {
    since: 0, until: 603, apis: ['pin_user_pages_unlocked', 'pin_user_pages_remote'], flags: ['longterm'], answer: EINVAL,
    why: '6.1 __gup_longterm_locked callers: FOLL_LONGTERM with a locked pointer is refused with WARN_ON_ONCE',
  },
  {
    since: 603, until: 10000, apis: [...GET_APIS, 'get_user_pages_fast_only'], flags: ['longterm'], answer: EINVAL,
    why: 'is_valid_gup_args(): WARN_ON_ONCE(!(gup_flags & FOLL_PIN) && (gup_flags & FOLL_LONGTERM))',
  },
];

function versionOf(release: string): number {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? Number(m[1]) * 100 + Number(m[2]) : 0;
}

/** The answer for `nrPages` prefaulted pages, or the rule's errno. */
export function expectedAnswer(release: string, api: ApiName, flags: readonly FlagName[], nrPages: number): number {
  const v = versionOf(release);
  const rule = RULES.find((r) => v >= r.since && v < r.until && r.apis.includes(api) && r.flags.every((f) => flags.includes(f)));
  return rule ? rule.answer : nrPages;
}
