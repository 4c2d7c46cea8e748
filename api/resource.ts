/**
 * The MySQL resource as the generic runtime addresses it (the shape of runtime/kube/resources.ts `Resource`,
 * which api/ does not import): the runtime's own list names only built-in kinds.
 *
 * @module
 */
import { GROUP, KIND, PLURAL, VERSION } from "./mysql.ts";

/** `mysqls.otus.homework/v1`, namespaced. */
export const MYSQL_RESOURCE = {
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  kind: KIND,
  namespaced: true,
} as const;
