/** Errors the client throws, each with a stable `code` to branch on. */

/** A subject key (or the id or secret it is built from) is unusable: a programming error of the caller. */
export class SubjectKeyError extends TypeError {
  readonly code = 'invalid_subject_key';
  constructor(message: string) {
    super(message);
    this.name = 'SubjectKeyError';
  }
}

/**
 * An `access/` document does not have the contract's shape (docs/firestore.md), or is not the one asked
 * for. Nothing in it is trusted: the caller should treat the subject as having no known access and alert.
 */
export class AccessDocumentError extends Error {
  readonly code = 'malformed_access_document';
  constructor(
    message: string,
    readonly subjectKey: string,
  ) {
    super(message);
    this.name = 'AccessDocumentError';
  }
}

export type ChangeEventErrorCode = 'malformed' | 'unsupported_schema_version' | 'unknown_type';

/**
 * A change event that cannot be read. `unsupported_schema_version`: a schema version this client does not
 * know (upgrade the client; leave the message un-acked or dead-letter it). `unknown_type`: a type this
 * client does not know within a known schema version (safe to ack and ignore). `malformed`: anything else.
 */
export class ChangeEventError extends Error {
  constructor(
    readonly code: ChangeEventErrorCode,
    message: string,
    readonly details: { schemaVersion?: unknown; type?: unknown; path?: string } = {},
  ) {
    super(message);
    this.name = 'ChangeEventError';
  }
}
