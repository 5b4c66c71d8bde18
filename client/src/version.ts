/**
 * The contract this client reads: the `access/` documents of docs/firestore.md and the outbound change
 * events of docs/change-events.md, schema version 1. The package's major version is this number
 * (client/test/package.spec.ts checks it against the service's CHANGE_EVENT_SCHEMA_VERSION).
 */
export const CONTRACT_VERSION = 1;
