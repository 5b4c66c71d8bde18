import { eraseSubject } from '../actions.js';
import { api, ApiError, path, query, type Page } from '../api.js';
import { useDecide } from '../components/decision.js';
import { Loaded, Section, useCanDecide, useLoad } from '../components/ui.js';
import { href, searchKind } from '../format.js';
import type { Account, Entitlement } from '../types.js';
import { EntitlementRows } from './account.js';

interface Found {
  entitlements: Entitlement[];
  account: Account | null;
  /** How the query was read, said back to the person. */
  readAs: string[];
}

const orNull = <T,>(promise: Promise<T>) =>
  promise.catch((error: unknown) => {
    if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return null;
    throw error;
  });

/** Reads the query as an entitlement id, an e-mail, or an account / user / bare Marketplace id, and tries each. */
async function find(q: string): Promise<Found> {
  const kind = searchKind(q);
  const list = (params: Record<string, string>) =>
    api<Page<Entitlement>>('GET', `/entitlements${query({ ...params, pageSize: 100 })}`).then((p) => p.items);
  if (kind === 'entitlement') {
    const one = await orNull(api<{ entitlement: Entitlement }>('GET', `/entitlements/${path(q)}`));
    return { entitlements: one ? [one.entitlement] : [], account: null, readAs: ['entitlement id'] };
  }
  if (kind === 'email') return { entitlements: await list({ email: q }), account: null, readAs: ['e-mail'] };
  const [account, byAccount, byUser, bare] = await Promise.all([
    orNull(api<{ account: Account }>('GET', `/accounts/${path(q)}`)),
    list({ account: q }),
    list({ user: q }),
    orNull(api<{ entitlement: Entitlement }>('GET', `/entitlements/${path(`gcp:${q}`)}`)),
  ]);
  const seen = new Map<string, Entitlement>();
  for (const e of [...(bare ? [bare.entitlement] : []), ...byAccount, ...byUser]) seen.set(e.id, e);
  return {
    entitlements: [...seen.values()],
    account: account?.account ?? null,
    readAs: ['Marketplace account id', 'user id', 'Marketplace entitlement id'],
  };
}

export function SearchPage({ q }: { q: string }) {
  const found = useLoad(() => find(q), [q]);
  const decide = useDecide();
  const canDecide = useCanDecide();
  return (
    <>
      <h1>
        Search: <span class="query">{q}</span>
      </h1>
      <Loaded state={found} what="results">
        {(f) => (
          <>
            <p class="muted">Read as: {f.readAs.join(', ')}.</p>
            {f.account ? (
              <Section title="Account" id="search-account">
                <p>
                  <a href={href('accounts', f.account.accountId)}>{f.account.accountId}</a> — sign-up{' '}
                  {f.account.signup.state}
                </p>
              </Section>
            ) : null}
            <Section
              title="Entitlements"
              id="search-entitlements"
              count={f.entitlements.length}
              actions={
                canDecide && searchKind(q) === 'email' && f.entitlements.length > 0 ? (
                  <button
                    type="button"
                    class="button stop small"
                    onClick={() => decide({ ...eraseSubject({ email: q.trim() }), after: found.reload })}
                  >
                    Erase this person's data…
                  </button>
                ) : null
              }
            >
              <EntitlementRows items={f.entitlements} empty={`Nothing matches “${q}”.`} />
            </Section>
          </>
        )}
      </Loaded>
    </>
  );
}
