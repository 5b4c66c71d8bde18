import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdminRole } from './roles.js';

export interface ApiKeyEntry {
  name: string;
  role: AdminRole;
  /** SHA-256 of the key, hex. */
  sha256: string;
}

export interface AccessListConfig {
  /** E-mail addresses and `@domain` entries, lowercased. */
  approvers: readonly string[];
  viewers: readonly string[];
  apiKeys: readonly ApiKeyEntry[];
}

/**
 * Who may use the admin API, from configuration: people by e-mail or Google Workspace domain, and
 * named API keys of which only the SHA-256 is known. Pure; the guard does the token verification.
 */
export class AccessList {
  private readonly keys: { name: string; role: AdminRole; digest: Buffer }[];

  constructor(private readonly config: AccessListConfig) {
    this.keys = config.apiKeys.map((k) => ({ name: k.name, role: k.role, digest: Buffer.from(k.sha256, 'hex') }));
  }

  /**
   * The role of a verified Google account. A `@domain` entry needs the token's `hd` (Workspace domain)
   * too: a consumer Google account can carry a verified address of any domain, so the address alone
   * does not show the domain's administrator vouches for the person.
   */
  roleOfUser(email: string, hd: string | undefined): AdminRole | null {
    const address = email.toLowerCase();
    const domain = address.slice(address.lastIndexOf('@') + 1);
    const workspace = hd?.toLowerCase() === domain ? `@${domain}` : null;
    const listed = (entries: readonly string[]) =>
      entries.includes(address) || (workspace !== null && entries.includes(workspace));
    if (listed(this.config.approvers)) return 'approver';
    if (listed(this.config.viewers)) return 'viewer';
    return null;
  }

  /** The named key whose SHA-256 matches, compared in constant time against every configured key. */
  keyFor(presented: string): { name: string; role: AdminRole } | null {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: { name: string; role: AdminRole } | null = null;
    for (const key of this.keys) {
      // No early exit: the time taken does not depend on which (if any) key matched.
      if (timingSafeEqual(digest, key.digest) && found === null) found = { name: key.name, role: key.role };
    }
    return found;
  }

  get acceptsUsers(): boolean {
    return this.config.approvers.length + this.config.viewers.length > 0;
  }
}

/** What an operator runs to make a key (see docs/admin-api.md): the key and its configured hash. */
export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
