// The job the host writes for `guplab-guest` (RUN_FILES.job in the run
// folder, lib/contract.ts): one zod schema, from which the types come and with
// which the guest parses the file.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { API_NAMES, FLAG_NAMES } from './abi.js';
import { BACKING_NAMES } from './bench/backings.js';
import type { Provenance } from './bench/environment.js';
import type { SpecInput } from './bench/spec.js';

/**
 * What `guplab-guest` runs inside the VM, step by step; the host writes it to
 * the run folder (RUN_FILES.job). Every step runs; the first failing step's
 * status is the job's. File names are relative to $GUPLAB_VM_OUT. One
 * schema: the type is inferred from it, and the guest parses with it.
 */
export const GuestStepSchema = z.discriminatedUnion('kind', [
  /** The kernel test suite (vitest) over these paths, relative to the project, less `exclude`; JUnit XML into `junit` if given. */
  z.object({ kind: z.literal('tests'), paths: z.array(z.string()), exclude: z.array(z.string()).optional(), junit: z.string().optional() }).strict(),
  /** The semantics check: KTAP on stdout, the JSON report into `report`. */
  z.object({ kind: z.literal('check'), only: z.array(z.string()), report: z.string() }).strict(),
  /** A benchmark (spec: as resolveSpec takes it, validated there): results.json into folder `dir` (with `provenance` as given); the table, the JSON or nothing on stdout. hostDriven: rounds as the host says (ROUND_FILES). */
  z
    .object({
      kind: z.literal('bench'),
      spec: z.custom<SpecInput>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a benchmark spec object'),
      dir: z.string(),
      print: z.enum(['table', 'json', 'none']),
      progress: z.boolean(),
      hostDriven: z.boolean().optional(),
      /** Who ran it, with what, on which host: the host's side, written into results.json here, once (the host never rewrites it). */
      provenance: z
        .custom<Provenance>((v) => typeof v === 'object' && v !== null && Array.isArray((v as Provenance).command), 'a provenance object')
        .optional(),
    })
    .strict(),
  /** The module's stress run (lib/stress/guest.ts), with one profile (lib/jobs/stress.ts PROFILES); it reloads guplab.ko, so it runs alone in its boot. */
  z
    .object({
      kind: z.literal('stress'),
      profile: z
        .object({
          fuzzCalls: z.number().int().positive(),
          fuzzThreads: z.number().int().positive(),
          raceSeconds: z.number().int().positive(),
          killPages: z.number().int().positive(),
          killRounds: z.number().int().nonnegative(),
          seed: z.number().int().nonnegative(),
        })
        .strict(),
    })
    .strict(),
  /** One GUP call on a fresh buffer (lib/pin.ts pinOnce): the answer and the page facts, as text or JSON, on stdout. */
  z
    .object({
      kind: z.literal('pin'),
      call: z
        .object({
          api: z.enum(API_NAMES),
          flags: z.array(z.enum(FLAG_NAMES)),
          backing: z.enum(BACKING_NAMES),
          size: z.number().int().positive(),
          prefault: z.boolean(),
          dir: z.string().optional(),
        })
        .strict(),
      json: z.boolean(),
    })
    .strict(),
  /** A shell script the host made (the selftests' and fidelity's guest scripts), run with sh: its output the guest's, its status the step's. */
  z
    .object({
      kind: z.literal('script'),
      name: z.string().regex(/^[a-z0-9-]+$/, 'a short name: lowercase letters, digits and dashes'),
      text: z.string(),
    })
    .strict(),
]);
export type GuestStep = z.infer<typeof GuestStepSchema>;

export const GuestJobSchema = z.object({ steps: z.array(GuestStepSchema) }).strict();
export type GuestJob = z.infer<typeof GuestJobSchema>;

/** Reads and validates a guest job file (see lib/guest.ts), or says what is wrong with it. */
export function readJobFile(file: string): GuestJob {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the guest job ${file}: ${err instanceof Error ? err.message : String(err)} (the host writes it for guplab-guest)`);
  }
  const parsed = GuestJobSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`${file} is not a guest job ({steps: [...]} of tests, check, bench, stress, pin, script):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
