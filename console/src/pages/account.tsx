import { resetTestAccount, SignupButtons } from '../actions.js';
import { api, path, query, type Page } from '../api.js';
import { useDecide } from '../components/decision.js';
import { Badge, Facts, Loaded, Section, Table, Time, useCanDecide, useLoad } from '../components/ui.js';
import { href } from '../format.js';
import type { Account, Entitlement } from '../types.js';

export function AccountPage({ id }: { id: string }) {
  const detail = useLoad(
    () => api<{ account: Account; entitlementIds: string[] }>('GET', `/accounts/${path(id)}`),
    [id],
  );
  const entitlements = useLoad(
    () => api<Page<Entitlement>>('GET', `/entitlements${query({ account: id, pageSize: 100 })}`),
    [id],
  );
  const reload = () => {
    detail.reload();
    entitlements.reload();
  };
  const decide = useDecide();
  const canDecide = useCanDecide();
  return (
    <Loaded state={detail} what={`account ${id}`}>
      {({ account }) => (
        <>
          <div class="title-row">
            <h1>
              <span class="muted">Account</span> {account.accountId}
            </h1>
            <Badge value={account.signup.state} />
          </div>
          <SignupButtons account={account} after={reload} />
          <Section
            title="Summary"
            id="account-summary"
            actions={
              canDecide ? (
                <button
                  type="button"
                  class="button stop small"
                  onClick={() => decide({ ...resetTestAccount(account), after: reload })}
                >
                  Reset test account…
                </button>
              ) : null
            }
          >
            <Facts
              facts={[
                ['Account state', account.state],
                ['Sign-up', account.signup.state],
                ['Sign-up updated', <Time at={account.signup.updateTime} />],
                ['Linked user', account.linkedUserId ?? null],
                ['Created', <Time at={account.createdAt} />],
                ['Updated', <Time at={account.updatedAt} />],
              ]}
            />
          </Section>
          <Section title="Entitlements" id="account-entitlements" count={entitlements.data?.items.length}>
            <Loaded state={entitlements} what="entitlements">
              {(page) => <EntitlementRows items={page.items} />}
            </Loaded>
          </Section>
        </>
      )}
    </Loaded>
  );
}

export function EntitlementRows({ items, empty }: { items: Entitlement[]; empty?: string }) {
  return (
    <Table
      caption="Entitlements"
      head={['Entitlement', 'Status', 'Product / plan', 'Subject', 'Updated']}
      rows={items.length}
      empty={empty ?? 'No entitlement.'}
    >
      {items.map((e) => (
        <tr key={e.id}>
          <td>
            <a href={href('entitlements', e.id)}>{e.id}</a>
          </td>
          <td>
            <Badge value={e.status} />
          </td>
          <td>
            {e.product} / {e.plan ?? '—'}
          </td>
          <td>{e.subject?.email ?? e.subject?.userId ?? e.subject?.key ?? '—'}</td>
          <td>
            <Time at={e.updatedAt} />
          </td>
        </tr>
      ))}
    </Table>
  );
}
