import { EntitlementButtons, SignupButtons } from '../actions.js';
import { api, query, type Page } from '../api.js';
import { Age, Loaded, Section, Table, useLoad } from '../components/ui.js';
import { approvalReason, href, planChangeReason } from '../format.js';
import type { Account, Entitlement } from '../types.js';

/** Everything that waits for a decision: purchases, plan changes and sign-ups, oldest first, with why. */
export function QueuePage() {
  const approvals = useLoad(
    () => api<Page<Entitlement>>('GET', `/approvals${query({ scope: 'all', pageSize: 100 })}`),
    [],
  );
  const changes = useLoad(
    () => api<Page<Entitlement>>('GET', `/plan-changes${query({ scope: 'all', pageSize: 100 })}`),
    [],
  );
  const signups = useLoad(
    () => api<Page<Account>>('GET', `/accounts${query({ signup: 'PENDING', pageSize: 100 })}`),
    [],
  );
  const reload = () => {
    approvals.reload();
    changes.reload();
    signups.reload();
  };
  const oldestFirst = <T,>(items: T[], at: (t: T) => string | null | undefined) =>
    [...items].sort((a, b) => String(at(a) ?? '').localeCompare(String(at(b) ?? '')));

  return (
    <>
      <h1>Waiting for a decision</h1>
      <Section title="Purchases" id="queue-purchases" count={approvals.data?.items.length}>
        <Loaded state={approvals} what="pending purchases">
          {(page) => (
            <Table
              caption="Purchases waiting for approval"
              head={['Entitlement', 'Product / plan', 'Account', 'Waiting', 'Why', '']}
              rows={page.items.length}
              empty="No purchase waits for approval."
            >
              {oldestFirst(page.items, (e) => e.createdAt).map((e) => (
                <tr key={e.id}>
                  <td>
                    <a href={href('entitlements', e.id)}>{e.id}</a>
                  </td>
                  <td>
                    {e.product} / {e.plan ?? '—'}
                  </td>
                  <td>
                    {e.details.marketplace?.accountId ? (
                      <a href={href('accounts', e.details.marketplace.accountId)}>{e.details.marketplace.accountId}</a>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>
                    <Age at={e.createdAt} />
                  </td>
                  <td>{approvalReason(e)}</td>
                  <td>
                    <EntitlementButtons e={e} after={reload} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Loaded>
      </Section>
      <Section title="Plan changes" id="queue-plan-changes" count={changes.data?.items.length}>
        <Loaded state={changes} what="pending plan changes">
          {(page) => (
            <Table
              caption="Plan changes waiting for approval"
              head={['Entitlement', 'Product', 'From → to', 'Waiting', 'Why', '']}
              rows={page.items.length}
              empty="No plan change waits."
            >
              {oldestFirst(page.items, (e) => e.lastEvent?.at ?? e.updatedAt).map((e) => (
                <tr key={e.id}>
                  <td>
                    <a href={href('entitlements', e.id)}>{e.id}</a>
                  </td>
                  <td>{e.product}</td>
                  <td>
                    {e.plan ?? '—'} → {e.pendingPlan?.plan ?? e.pendingPlan?.providerPlan ?? '?'}
                  </td>
                  <td>
                    <Age at={e.lastEvent?.at ?? e.updatedAt} />
                  </td>
                  <td>{planChangeReason(e)}</td>
                  <td>
                    <EntitlementButtons e={e} after={reload} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Loaded>
      </Section>
      <Section title="Sign-ups" id="queue-signups" count={signups.data?.items.length}>
        <Loaded state={signups} what="pending sign-ups">
          {(page) => (
            <Table
              caption="Marketplace sign-ups waiting for approval"
              head={['Account', 'Account state', 'Waiting', 'Why', '']}
              rows={page.items.length}
              empty="No sign-up waits."
            >
              {oldestFirst(page.items, (a) => a.createdAt).map((a) => (
                <tr key={a.accountId}>
                  <td>
                    <a href={href('accounts', a.accountId)}>{a.accountId}</a>
                  </td>
                  <td>{a.state}</td>
                  <td>
                    <Age at={a.createdAt ?? a.signup.updateTime} />
                  </td>
                  <td>
                    {a.linkedUserId
                      ? `Linked to user ${a.linkedUserId}; the sign-up needs an approver`
                      : 'The customer has not finished sign-up, or the policy leaves it to an approver'}
                  </td>
                  <td>
                    <SignupButtons account={a} after={reload} />
                  </td>
                </tr>
              ))}
            </Table>
          )}
        </Loaded>
      </Section>
    </>
  );
}
