/**
 * What the client keeps of an answer.
 *
 * @module
 */
/**
 * Drops `metadata.managedFields` from an answer, an object or a list's items, as soon as it is parsed: nothing here
 * reads them (server-side apply keeps them on the server, and a PUT without them leaves them as they are), and a
 * pass holds what it read until it ends, often a third of each object. The API server writes them last of the
 * metadata, so deleting them takes V8's object back to its previous shape rather than to a slower dictionary.
 */
export function withoutManagedFields<T>(answer: T): T {
  const a = answer as { metadata?: { managedFields?: unknown }; items?: unknown };
  if (a?.metadata?.managedFields) delete a.metadata.managedFields;
  if (Array.isArray(a?.items)) {
    for (let i = 0; i < a.items.length; i++) {
      const m = (a.items[i] as { metadata?: { managedFields?: unknown } } | null)?.metadata;
      if (m?.managedFields) delete m.managedFields;
    }
  }
  return answer;
}
