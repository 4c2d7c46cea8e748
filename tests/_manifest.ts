/**
 * Manifests as the backup scripts write them (format 1, templates/scripts/backup.sh and store_backup.sh), for
 * tests that put backups into a store without running a Job.
 *
 * @module
 */

/** The text of a manifest for dump `<stem>.sql` of `instance`. */
export function manifestText(m: {
  instance: string;
  stem: string;
  seq: number;
  bytes: number;
  time: string;
  sha256: string;
}): string {
  return [
    "format=1",
    `instance_id=${m.instance}`,
    "instance_uid=u-1",
    "database=otus",
    `file=${m.stem}.sql`,
    `time=${m.time}`,
    `seq=${m.seq}`,
    `bytes=${m.bytes}`,
    `sha256=${m.sha256}`,
    "reason=scheduled",
  ].join("\n") + "\n";
}
