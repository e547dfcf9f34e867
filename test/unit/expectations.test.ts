// The version boundaries the kernel source draws, pinned with releases on
// each side of them (6.2-6.11 are not booted here: these rows are read from
// source, so a unit test is what holds them).
import { describe, expect, it } from 'vitest';
import { EXPECTATIONS, expectationFor, longtermGate, type Expectation } from '../../lib/check/expectations.js';

const R = {
  '6.1': '6.1.0-56-amd64',
  '6.2': '6.2.16',
  '6.3': '6.3.13',
  '6.5': '6.5.13',
  '6.6': '6.6.46', // before 6.6.47 took f442fa614137 (test/unit/kernel-truth.test.ts holds that bound)
  '6.9': '6.9.12',
  '6.10': '6.10.14',
  '6.12': '6.12.117+deb12-amd64',
} as const;
type V = keyof typeof R;

const row = (probe: string, name: string, v: V): Expectation => {
  const r = expectationFor(EXPECTATIONS[probe] ?? [], name, R[v], 'x86_64');
  if (!r) throw new Error(`no row for ${probe} ${name} on ${v}`);
  return r;
};
const ret = (probe: string, name: string, v: V): number | undefined => row(probe, name, v).answer.ret;

describe('FOLL_LONGTERM with a locked pointer (pin_user_pages_unlocked, pin_user_pages_remote)', () => {
  it('is refused up to 6.1 and pins from 6.2 ("mm/gup: remove the restriction on locked with FOLL_LONGTERM")', () => {
    for (const api of ['pin_user_pages_unlocked', 'pin_user_pages_remote']) {
      expect(ret('longterm-variants', api, '6.1')).toBe(-22);
      for (const v of ['6.2', '6.5', '6.6', '6.9', '6.10', '6.12'] as const) expect(ret('longterm-variants', api, v), `${api} ${v}`).toBe(16);
    }
  });

  it("names the deciding function: get_user_pages_unlocked()'s own WARN, not is_valid_gup_flags()", () => {
    const unlocked = row('longterm-variants', 'pin_user_pages_unlocked', '6.1');
    expect(unlocked.source).toMatch(/get_user_pages_unlocked\(\): WARN_ON_ONCE/);
    expect(unlocked.source).not.toMatch(/is_valid_gup_flags/);
    const getUnlocked = row('longterm-variants', 'get_user_pages_unlocked', '6.1');
    expect(getUnlocked.source).toMatch(/its own WARN_ON_ONCE/);
    expect(row('longterm-variants', 'get_user_pages_remote', '6.1').source).toMatch(/is_valid_gup_flags\(\)/);
  });

  it('says the 6.1 remote refusal comes from the locked pointer guplab passes', () => {
    expect(row('longterm-variants', 'pin_user_pages_remote', '6.1').caller).toMatch(/locked pointer/);
    expect(row('longterm-variants', 'pin_user_pages_unlocked', '6.1').caller).toBeUndefined();
    expect(row('longterm-variants', 'pin_user_pages_remote', '6.2').caller).toBeUndefined();
  });

  it("get_user_pages_unlocked: refused <6.2 by its own WARN, on 6.2 by __gup_longterm_locked()'s, from 6.3 by is_valid_gup_args()", () => {
    expect(ret('longterm-variants', 'get_user_pages_unlocked', '6.1')).toBe(-22);
    expect(ret('longterm-variants', 'get_user_pages_unlocked', '6.2')).toBe(-22);
    expect(row('longterm-variants', 'get_user_pages_unlocked', '6.3').source).toMatch(/is_valid_gup_args/);
    expect(ret('longterm-variants', 'get_user_pages_unlocked', '6.12')).toBe(-22);
    expect(ret('dax-longterm', 'ext4/longterm/get_user_pages_unlocked', '6.2')).toBe(-22);
  });

  it('the other get_* entries are refused throughout, by is_valid_gup_flags() then is_valid_gup_args()', () => {
    for (const api of ['get_user_pages_fast', 'get_user_pages', 'get_user_pages_remote']) {
      expect(row('longterm-variants', api, '6.2').source).toMatch(/is_valid_gup_flags/);
      expect(row('longterm-variants', api, '6.3').source).toMatch(/is_valid_gup_args/);
    }
    expect(longtermGate('p/').every((r) => r.answer.ret === -22)).toBe(true);
  });
});

describe('hugetlb in ZONE_MOVABLE pinned FOLL_LONGTERM', () => {
  const probes = [
    ['movable-longterm', 'hugetlb/', { ret: 16, note: 'migrated, data intact' }],
    ['writable-longterm-shared', 'hugetlb-in-movable/', { ret: 16 }],
  ] as const;

  it('-ENOMEM with the hugetlb.c WARN while follow_hugetlb_page() lives (to 6.5)', () => {
    for (const [probe, prefix] of probes) {
      for (const v of ['6.1', '6.2', '6.5'] as const) {
        for (const api of ['pin_user_pages_fast', 'pin_user_pages']) {
          const r = row(probe, `${prefix}${api}`, v);
          expect(r.answer, `${probe} ${api} ${v}`).toEqual({ ret: -12 });
          expect(r.warning).toBe('at mm/hugetlb.c');
          expect(r.source).toMatch(/follow_hugetlb_page\(\)/);
        }
      }
    }
  });

  it('the unlocked and remote pins: the gate on 6.1, the same follow_hugetlb_page() on 6.2-6.5', () => {
    for (const [probe, prefix] of probes) {
      for (const api of ['pin_user_pages_unlocked', 'pin_user_pages_remote']) {
        expect(ret(probe, `${prefix}${api}`, '6.1')).toBe(-22);
        expect(ret(probe, `${prefix}${api}`, '6.2')).toBe(-12);
        expect(ret(probe, `${prefix}${api}`, '6.5')).toBe(-12);
      }
    }
  });

  it('-EFAULT with a gup.c WARN on [6.6, 6.10), through the GUP-fast try_grab_folio()', () => {
    for (const [probe, prefix] of probes) {
      for (const v of ['6.6', '6.9'] as const) {
        for (const api of ['pin_user_pages_fast', 'pin_user_pages_unlocked', 'pin_user_pages', 'pin_user_pages_remote']) {
          const r = row(probe, `${prefix}${api}`, v);
          expect(r.answer, `${probe} ${api} ${v}`).toEqual({ ret: -14 });
          expect(r.warning).toBe('at mm/gup.c');
          expect(r.source).toMatch(/try_grab_folio/);
        }
      }
    }
  });

  it('pinned (and migrated) from 6.10, with no WARN declared', () => {
    for (const [probe, prefix, migrated] of probes) {
      for (const v of ['6.10', '6.12'] as const) {
        for (const api of ['pin_user_pages_fast', 'pin_user_pages_unlocked', 'pin_user_pages', 'pin_user_pages_remote']) {
          const r = row(probe, `${prefix}${api}`, v);
          expect(r.answer, `${probe} ${api} ${v}`).toEqual(migrated);
          expect(r.warning).toBeUndefined();
        }
      }
    }
    expect(row('movable-longterm', 'hugetlb/pin_user_pages', '6.12').source).toMatch(/alloc_hugetlb_folio_nodemask\(\)/);
  });
});

describe('sources named per version', () => {
  it('huge: follow_hugetlb_page() only where it exists (<6.6)', () => {
    expect(row('huge', 'hugetlb/pin_user_pages', '6.5').source).toMatch(/follow_hugetlb_page\(\)/);
    for (const v of ['6.6', '6.9', '6.10', '6.12'] as const) expect(row('huge', 'hugetlb/pin_user_pages', v).source).not.toMatch(/follow_hugetlb_page/);
    expect(row('huge', 'hugetlb/pin_user_pages', '6.12').source).toMatch(/follow_huge_pmd\(\)/);
  });

  it('cow-fork: copy_present_pte() on 6.1, copy_present_ptes() -> folio_try_dup_anon_rmap_ptes() on 6.12', () => {
    expect(row('cow-fork', 'pinned', '6.1').source).toMatch(/copy_present_pte\(\) -> page_try_dup_anon_rmap\(\).*page_needs_cow_for_dma\(\)/);
    expect(row('cow-fork', 'pinned', '6.12').source).toMatch(/copy_present_ptes\(\) -> folio_try_dup_anon_rmap_ptes\(\) -> folio_needs_cow_for_dma\(\)/);
  });

  it('every WARN a row declares is one the kernel prints from mm/', () => {
    for (const rows of Object.values(EXPECTATIONS)) for (const r of rows) if (r.warning) expect(r.warning).toMatch(/^at mm\/\w+\.c$/);
  });
});

describe('stable backports: ranges with a sublevel', () => {
  const pin = (version: string): string | undefined => expectationFor(EXPECTATIONS['cow-ro-pin'] ?? [], 'zeropage-refs/pin', version, 'x86_64')?.answer.note;
  it('the zeropage is pinned (+1024) on mainline 6.1-6.4, not from 6.5 nor on 6.1 stable from 6.1.135', () => {
    expect(pin('6.1.0')).toBe('zeropage, +1024 refs');
    expect(pin('6.1.129')).toBe('zeropage, +1024 refs');
    expect(expectationFor(EXPECTATIONS['cow-ro-pin'] ?? [], 'zeropage-refs/pin', '6.1.130', 'x86_64')?.answer).toEqual({ ret: -12 });
    expect(expectationFor(EXPECTATIONS['cow-ro-pin'] ?? [], 'zeropage/ro/pin_user_pages', '6.1.134', 'x86_64')?.answer).toEqual({ ret: -12 });
    expect(expectationFor(EXPECTATIONS['cow-ro-pin'] ?? [], 'zeropage-refs/get', '6.1.134', 'x86_64')?.answer.note).toBe('zeropage, +1 refs');
    expect(pin('6.1.135')).toBe('zeropage, +0 refs');
    expect(pin('6.1.192')).toBe('zeropage, +0 refs');
    expect(pin('6.2.16')).toBe('zeropage, +1024 refs');
    expect(pin('6.4.16')).toBe('zeropage, +1024 refs');
    expect(pin('6.5.0')).toBe('zeropage, +0 refs');
    expect(pin('6.12.117')).toBe('zeropage, +0 refs');
  });

  it('reads the real sublevel from /proc/version (Debian releases say 6.1.0), skipping the compiler\'s "Debian 12.2.0"', async () => {
    const { kernelFullVersion } = await import('../../lib/check/expectations.js');
    const proc =
      'Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)';
    expect(kernelFullVersion('6.1.0-57-amd64', proc)).toBe('6.1.192');
    expect(kernelFullVersion('6.12.117+deb12-amd64', '')).toBe('6.12.117');
    expect(kernelFullVersion('7.3.4+deb13-amd64', 'Linux version 7.3.4+deb13-amd64 (gcc-14 (Debian 14.2.0-19) 14.2.0) #1 SMP Debian 7.3.4-1~bpo13+1')).toBe(
      '7.3.4',
    );
  });
});

describe('new probes: boundaries', () => {
  const ans = (probe: string, name: string, version: string) => expectationFor(EXPECTATIONS[probe] ?? [], name, version, 'x86_64')?.answer;
  it('cow-ro-pin: R/O long-term pins unshare from 6.2; short-term pins never do', () => {
    for (const b of ['zeropage', 'file']) {
      expect(ans('cow-ro-pin', `${b}/ro-longterm/pin_user_pages`, '6.1.192')?.note).toMatch(/stale after the write/);
      expect(ans('cow-ro-pin', `${b}/ro-longterm/pin_user_pages`, '6.2.0')).toEqual({ ret: 1, note: 'anon copy; coherent after the write' });
      expect(ans('cow-ro-pin', `${b}/ro/pin_user_pages`, '6.12.117')?.note).toMatch(/stale after the write/);
    }
    expect(ans('cow-ro-pin', 'zeropage/ro-longterm/pin_user_pages_remote', '6.1.192')).toEqual({ ret: -22 });
    expect(ans('writable-longterm-family', 'ext4/private-ro-longterm/pin_user_pages', '6.1.192')?.note).toBe('page cache pages');
    expect(ans('writable-longterm-family', 'ext4/private-ro-longterm/pin_user_pages', '6.2.0')?.note).toBe('anon copies');
  });
  it('address-edges: *_fast_only hides the -EFAULT as 0 before 6.3', () => {
    expect(ans('address-edges', 'above-top/get_user_pages_fast_only', '6.2.16')).toEqual({ ret: 0 });
    expect(ans('address-edges', 'above-top/get_user_pages_fast_only', '6.3.0')).toEqual({ ret: -14 });
    expect(ans('address-edges', 'above-top/get_user_pages_fast', '6.1.0')).toEqual({ ret: -14 });
    expect(ans('nowait-nofault', 'nowait-fast/get_user_pages_fast_only', '6.1.192')).toEqual({ ret: 0 });
    expect(ans('nowait-nofault', 'nowait-fast/get_user_pages_fast_only', '6.12.117')).toEqual({ ret: -22 });
  });
  it('force-hugetlb: refused from 6.1 until 6.14 supports it; guard regions judged from 6.13', () => {
    expect(ans('force-hugetlb', 'pin_user_pages', '5.10.0')).toEqual({ ret: 1, note: 'same page' });
    expect(ans('force-hugetlb', 'pin_user_pages', '6.1.0')).toEqual({ ret: -14 });
    expect(ans('force-hugetlb', 'pin_user_pages', '6.13.12')).toEqual({ ret: -14 });
    expect(ans('force-hugetlb', 'pin_user_pages', '6.14.0')).toEqual({ ret: 1, note: 'same page' });
    expect(ans('force-hugetlb', 'get_user_pages_remote', '7.3.4')).toEqual({ ret: 1, note: 'same page' });
    expect(ans('force-protnone', 'guard/pin_user_pages', '6.12.117')?.note).toMatch(/no guard regions/);
    expect(ans('force-protnone', 'guard/pin_user_pages', '6.13.0')).toEqual({ ret: -14 });
    expect(ans('force-protnone', 'guard-force/get_user_pages_fast_only', '7.3.4')).toEqual({ ret: 0 });
  });
});

describe('THP in ZONE_MOVABLE pinned FOLL_LONGTERM', () => {
  const ans = (name: string, version: string) => expectationFor(EXPECTATIONS['movable-longterm'] ?? [], name, version, 'x86_64');
  it('migrates, except for the try_grab_folio() relapse on [6.6, 6.10) and the 6.1 gate', () => {
    expect(ans('thp/pin_user_pages_fast', '6.1.192')?.answer).toEqual({ ret: 16, note: 'migrated, data intact' });
    expect(ans('thp/pin_user_pages_unlocked', '6.1.192')?.answer).toEqual({ ret: -22 });
    expect(ans('thp/pin_user_pages_unlocked', '6.5.0')?.answer).toEqual({ ret: 16, note: 'migrated, data intact' });
    for (const v of ['6.6.0', '6.9.12']) {
      expect(ans('thp/pin_user_pages', v)?.answer).toEqual({ ret: -14 });
      expect(ans('thp/pin_user_pages', v)?.warning).toBe('at mm/gup.c');
    }
    expect(ans('thp/pin_user_pages_remote', '6.10.0')?.answer).toEqual({ ret: 16, note: 'migrated, data intact' });
    expect(ans('thp/pin_user_pages_fast', '5.10.0')?.answer).toEqual({ ret: 16, note: 'stayed, data intact' });
  });
});

describe('pfnmap: GUP on a VM_IO | VM_PFNMAP mapping', () => {
  const ans = (name: string, version: string) => expectationFor(EXPECTATIONS.pfnmap ?? [], name, version, 'x86_64');
  it('the slow path refuses it in check_vma_flags() on every line, whatever the flags', () => {
    for (const v of ['5.10.0', '6.1.192', '6.2.16', '6.12.117', '7.3.4']) {
      for (const name of [
        'read/get_user_pages',
        'write-force/get_user_pages_remote',
        'force/pin_user_pages_unlocked',
        'write/get_user_pages_fast',
        'write-longterm/pin_user_pages_fast',
      ]) {
        expect(ans(name, v)?.answer, `${name} ${v}`).toEqual({ ret: -14 });
        expect(ans(name, v)?.source).toMatch(/check_vma_flags\(\): \(VM_IO \| VM_PFNMAP\)/);
      }
    }
  });
  it('the fast-only entries stop at pte_special() and return 0, never an error', () => {
    for (const v of ['5.10.0', '6.1.192', '7.3.4']) {
      expect(ans('force/get_user_pages_fast_only', v)?.answer).toEqual({ ret: 0 });
      expect(ans('longterm/pin_user_pages_fast_only', v)?.answer).toEqual({ ret: 0 });
    }
    expect(ans('read/pin_user_pages_fast_only', '6.12.117')?.source).toMatch(/pte_special\(\)/);
  });
  it('FOLL_LONGTERM through a locked pointer: the gate on 6.1, check_vma_flags() from 6.2', () => {
    for (const api of ['pin_user_pages_unlocked', 'pin_user_pages_remote']) {
      expect(ans(`longterm/${api}`, '6.1.192')?.answer).toEqual({ ret: -22 });
      expect(ans(`write-longterm/${api}`, '6.1.192')?.answer).toEqual({ ret: -22 });
      expect(ans(`longterm/${api}`, '6.2.0')?.answer).toEqual({ ret: -14 });
    }
    expect(ans('longterm/pin_user_pages_remote', '6.1.192')?.caller).toMatch(/locked pointer/);
    expect(ans('longterm/pin_user_pages', '6.1.192')?.answer).toEqual({ ret: -14 });
  });
});

describe('nowait-nofault: a page-cache page dropped with POSIX_FADV_DONTNEED', () => {
  const ans = (name: string, version: string) => expectationFor(EXPECTATIONS['nowait-nofault'] ?? [], name, version, 'x86_64');
  it('FOLL_NOWAIT under MADV_RANDOM: filemap_fault() reads synchronously, all 16 pages, on every line', () => {
    for (const v of ['5.10.0', '6.1.192', '6.12.117', '7.3.4']) {
      expect(ans('nowait-dropped-random/get_user_pages_unlocked', v)?.answer).toEqual({ ret: 16, note: 'faulted in' });
      expect(ans('nowait-dropped-random/pin_user_pages_remote', v)?.source).toMatch(/page_not_uptodate/);
    }
  });
  it('FOLL_NOFAULT: -EFAULT before any read starts; the fast-only entries 0', () => {
    expect(ans('nofault-dropped-random/pin_user_pages', '6.12.117')?.answer).toEqual({ ret: -14, note: 'nothing faulted' });
    expect(ans('nofault-dropped-random/get_user_pages_fast', '7.3.4')?.answer).toEqual({ ret: -14, note: 'nothing faulted' });
    expect(ans('nofault-dropped-random/get_user_pages_fast_only', '6.1.192')?.answer).toEqual({ ret: 0, note: 'nothing faulted' });
  });
});

describe('cma-longterm: a THP and a hugetlb page in CMA pinned FOLL_LONGTERM', () => {
  const ans = (name: string, version: string) => expectationFor(EXPECTATIONS['cma-longterm'] ?? [], name, version, 'arm64');
  it('5.10 migrates CMA pages (check_and_migrate_cma_pages), hugetlb included', () => {
    expect(ans('hugetlb/pin_user_pages', '5.10.0')?.answer).toEqual({ ret: 16, note: 'migrated, data intact' });
    expect(ans('hugetlb/pin_user_pages', '5.10.0')?.source).toMatch(/check_and_migrate_cma_pages/);
  });
  it('hugetlb: -ENOMEM with the hugetlb.c WARN to 6.5, -EFAULT with a gup.c WARN on [6.6, 6.10), migrated from 6.10', () => {
    expect(ans('hugetlb/pin_user_pages_fast', '6.1.192')?.answer).toEqual({ ret: -12 });
    expect(ans('hugetlb/pin_user_pages_fast', '6.1.192')?.warning).toBe('at mm/hugetlb.c');
    expect(ans('hugetlb/pin_user_pages_fast', '6.1.192')?.source).toMatch(/CMA folio/);
    expect(ans('hugetlb/pin_user_pages_unlocked', '6.1.192')?.answer).toEqual({ ret: -22 });
    expect(ans('hugetlb/pin_user_pages_unlocked', '6.5.0')?.answer).toEqual({ ret: -12 });
    expect(ans('hugetlb/pin_user_pages', '6.6.0')?.answer).toEqual({ ret: -14 });
    expect(ans('hugetlb/pin_user_pages', '6.9.12')?.warning).toBe('at mm/gup.c');
    for (const v of ['6.10.0', '6.12.117', '7.3.4'])
      expect(ans('hugetlb/pin_user_pages_remote', v)?.answer).toEqual({ ret: 16, note: 'migrated, data intact' });
  });
  it('THP: migrated, except [6.6, 6.10) and the 6.1 gate', () => {
    expect(ans('thp/pin_user_pages_fast', '6.1.192')?.answer).toEqual({ ret: 16, note: 'migrated, data intact' });
    expect(ans('thp/pin_user_pages_remote', '6.1.192')?.answer).toEqual({ ret: -22 });
    expect(ans('thp/pin_user_pages', '6.6.0')?.answer).toEqual({ ret: -14 });
    expect(ans('thp/pin_user_pages', '6.10.0')?.answer).toEqual({ ret: 16, note: 'migrated, data intact' });
    expect(ans('thp/pin_user_pages_unlocked', '7.3.4')?.source).toMatch(/folio_is_longterm_pinnable\(\) is false for a MIGRATE_CMA pageblock/);
  });
});

describe('models: writeback, reclaim, THP split and migration', () => {
  const ans = (name: string, version: string) => expectationFor(EXPECTATIONS.models ?? [], name, version, 'x86_64')?.answer;
  it('the RDMA model cannot hold a shared ext4 page from 6.5 (writable_file_mapping_allowed()); the others hold it on every line', () => {
    for (const e of ['msync', 'pageout']) {
      expect(ans(`${e}/rdma`, '6.1.192')?.note).not.toMatch(/refused/);
      expect(ans(`${e}/rdma`, '6.5.0')).toEqual({ note: 'hold refused -14' });
      expect(ans(`${e}/dio`, '6.12.117')?.note).not.toMatch(/refused/);
    }
  });
  it('reclaim keeps a held page in the page cache and frees the mirrored one; only the mirror sees the invalidations', () => {
    expect(ans('pageout/dio', '6.12.117')?.note).toMatch(/^process pte gone; page cache keeps it/);
    expect(ans('pageout/ref', '5.10.0')?.note).toMatch(/page cache keeps it/);
    expect(ans('pageout/odp', '6.1.192')?.note).toMatch(/page reclaimed.*invalidations protectionPage, clear$/);
  });
  it('a THP split is judged from 5.13 (split_huge_pages_pid()); pins and references block it, the mirror does not', () => {
    expect(ans('thp-split/dio', '5.10.0')).toBeUndefined();
    expect(ans('thp-split/ref', '5.13.0')?.note).toMatch(/^folio order 9/);
    expect(ans('thp-split/odp', '6.12.117')?.note).toMatch(/^folio order 0.*invalidations clear$/);
    expect(ans('migrate/rdma', '6.12.117')?.note).toMatch(/^move_pages 1; stayed/);
    expect(ans('migrate/odp', '6.12.117')?.note).toMatch(/^move_pages 0; moved/);
  });
});
