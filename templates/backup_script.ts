/**
 * The backup Job's script: constant POSIX sh text (no value is ever spliced into it; everything comes from the
 * environment contract of backup and restore Jobs, see templates/jobs.ts). The source is templates/scripts/backup.sh
 * (with common.sh and freeze.sh), where what it guarantees is written down: a dump counts only when complete, a
 * backup exists only once its manifest is renamed into place, retention never touches other instances' files or the
 * backup just made, the password stays in a mode-600 option file, and a final backup first stops writes for good
 * and proves it. `deno task gen` embeds the files (tools/gen_job_scripts.ts).
 *
 * @module
 */
import { BACKUP_SH, STORE_BACKUP_SH } from "./job_scripts.ts";

/** The backup Job's script (run as `/bin/sh -c BACKUP_SCRIPT`). */
export const BACKUP_SCRIPT: string = BACKUP_SH;

/**
 * The backup Job's script for an object store (`/bin/sh -c STORE_BACKUP_SCRIPT`): the dump streams to the store
 * through rclone, is read back and checked, and its manifest is uploaded last (templates/scripts/store_backup.sh).
 */
export const STORE_BACKUP_SCRIPT: string = STORE_BACKUP_SH;
