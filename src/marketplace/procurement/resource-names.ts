/**
 * Ids the service puts into Procurement resource names (`providers/{provider}/entitlements/{id}`,
 * `…/accounts/{id}`). Google's ids are UUIDs or `E-XXXX-…` account ids; this accepts anything made of
 * URL-path-safe characters that cannot change the path: no `/`, `?`, `#`, `%`, `:` (a custom method
 * separator) and never a `.` or `..` segment, which the generated client refuses before sending.
 * An id outside this set can never name a resource: it is refused, not escaped.
 */
const RESOURCE_ID = /^[A-Za-z0-9._~@+=-]{1,256}$/;

export function isResourceId(value: string): boolean {
  return RESOURCE_ID.test(value) && value !== '.' && value !== '..';
}

/**
 * The provider a fetched entitlement or account belongs to, when it names one other than `ours`: by its
 * `provider` field or its name (`providers/{provider}/…`). `null` when it is ours or says nothing.
 */
export function foreignProvider(
  resource: { name?: string | null; provider?: string | null },
  ours: string,
): string | null {
  if (resource.provider && resource.provider !== ours) return resource.provider;
  const named = /^providers\/([^/]+)\//.exec(resource.name ?? '')?.[1];
  return named && named !== ours ? named : null;
}
