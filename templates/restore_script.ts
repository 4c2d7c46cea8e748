/**
 * The restore Job's script: constant POSIX sh text, every value from the environment (see templates/jobs.ts). The
 * source is templates/scripts/restore.sh (with common.sh and load.sh), where what it guarantees is written down: it restores
 * only into an empty database, picks this instance's newest backup that matches its manifest (size, completion line,
 * sha256), reports `NothingToRestore` when there is none and `NoValidBackup` when none verifies, and undoes a load
 * that fails half-way. `deno task gen` embeds the files (tools/gen_job_scripts.ts).
 *
 * @module
 */
import { RESTORE_SH, STORE_RESTORE_SH } from "./job_scripts.ts";

/** The restore Job's script (run as `/bin/sh -c RESTORE_SCRIPT`). */
export const RESTORE_SCRIPT: string = RESTORE_SH;

/**
 * The restore Job's script for an object store (`/bin/sh -c STORE_RESTORE_SCRIPT`): each candidate is verified on
 * a first read and checked again while it loads; nothing is copied into the pod (templates/scripts/store_restore.sh).
 */
export const STORE_RESTORE_SCRIPT: string = STORE_RESTORE_SH;
