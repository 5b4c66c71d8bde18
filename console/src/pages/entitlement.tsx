import { useState } from 'preact/hooks';
import { EntitlementButtons, eraseSubject } from '../actions.js';
import { api, path, query, type Page } from '../api.js';
import { useDecide } from '../components/decision.js';
import {
  Badge,
  display,
  ErrorNote,
  Facts,
  Loaded,
  Section,
  Table,
  Time,
  useCanDecide,
  useLoad,
} from '../components/ui.js';
import { approvalReason, href } from '../format.js';
import type { Account, AuditEntry, Entitlement, HistoryEntry, InboundEvent } from '../types.js';
import { AuditRows } from './audit.js';

interface Detail {
  entitlement: Entitlement;
  history: HistoryEntry[];
  account: Account | null;
}

/** One entitlement: what it is, why it waits, its history, the facts its source gave, and the raw events. */
export function EntitlementPage({ id }: { id: string }) {
  const detail = useLoad(() => api<Detail>('GET', `/entitlements/${path(id)}`), [id]);
  const events = useLoad(
    () => api<Page<InboundEvent>>('GET', `/entitlements/${path(id)}/events${query({ pageSize: 100 })}`),
    [id],
  );
  const audit = useLoad(() => api<Page<AuditEntry>>('GET', `/audit${query({ target: id, pageSize: 20 })}`), [id]);
  const reload = () => {
    detail.reload();
    events.reload();
    audit.reload();
  };
  const decide = useDecide();
  const canDecide = useCanDecide();
  return (
    <Loaded state={detail} what={`entitlement ${id}`}>
      {({ entitlement: e, history, account }) => (
        <>
          <div class="title-row">
            <h1>
              <span class="muted">Entitlement</span> {e.id}
            </h1>
            <Badge value={e.status} />
            {e.active ? <span class="badge ok">access now</span> : <span class="badge quiet">no access now</span>}
          </div>
          {e.status === 'pending_approval' ? <p class="note wait">{approvalReason(e)}</p> : null}
          <EntitlementButtons e={e} after={reload} />
          <Section
            title="Summary"
            id="entitlement-summary"
            actions={
              canDecide && e.subject && e.source !== 'gcp' ? (
                <button
                  type="button"
                  class="button stop small"
                  onClick={() => decide({ ...eraseSubject({ subjectKey: e.subject!.key }), after: reload })}
                >
                  Erase this person's data…
                </button>
              ) : null
            }
          >
            <Facts
              facts={[
                ['Source', e.source],
                ['Product / plan', `${e.product} / ${e.plan ?? '—'}`],
                ['Provider product / plan', `${e.providerProduct} / ${e.providerPlan ?? '—'}`],
                ['Pending plan', e.pendingPlan ? (e.pendingPlan.plan ?? e.pendingPlan.providerPlan) : null],
                ['Provider state', e.providerState],
                ['Access from', <Time at={e.validFrom} />],
                ['Access until', e.validUntil ? <Time at={e.validUntil} /> : 'open-ended'],
                ['Subject', e.subject ? <code>{e.subject.key}</code> : e.erasedAt ? 'erased' : null],
                ['E-mail', e.subject?.email ?? null],
                ['User id', e.subject?.userId ?? null],
                [
                  'Account',
                  account ? (
                    <a href={href('accounts', account.accountId)}>
                      {account.accountId} (sign-up {account.signup.state})
                    </a>
                  ) : null,
                ],
                ['Created', <Time at={e.createdAt} />],
                ['Updated', <Time at={e.updatedAt} />],
              ]}
            />
          </Section>
          <Section title="History" id="entitlement-history" count={history.length}>
            {history.length === 0 ? (
              <p class="muted">No change applied yet.</p>
            ) : (
              <ol class="timeline">
                {history.map((h) => (
                  <li key={h.id}>
                    <Time at={h.at} />
                    <div>
                      <strong>{h.eventType}</strong>{' '}
                      <span class="muted">
                        by {h.actor.type} {h.actor.id}
                      </span>
                      <div>
                        {h.before ? <Badge value={h.before.status} /> : <span class="muted">new</span>} →{' '}
                        <Badge value={h.after.status} />
                        {h.after.plan ? <span class="muted"> plan {h.after.plan}</span> : null}
                      </div>
                    </div>
                  </li>
                ))}
              </ol>
            )}
          </Section>
          <Section title="Decisions" id="entitlement-decisions">
            <Loaded state={audit} what="decisions">
              {(page) => <AuditRows items={page.items} empty="No admin has acted on it." />}
            </Loaded>
          </Section>
          <Section title="Source facts" id="entitlement-facts">
            <Facts
              facts={Object.entries(e.details).flatMap(([group, value]) =>
                value && typeof value === 'object'
                  ? Object.entries(value as Record<string, unknown>).map(
                      ([k, v]) => [`${group}.${k}`, display(v)] as [string, ReturnType<typeof display>],
                    )
                  : [[group, display(value)] as [string, ReturnType<typeof display>]],
              )}
            />
          </Section>
          <Section title="Raw events" id="entitlement-events" count={events.data?.items.length}>
            <Loaded state={events} what="events">
              {(page) => <EventList items={page.items} />}
            </Loaded>
          </Section>
        </>
      )}
    </Loaded>
  );
}

/** Events as rows; each opens its raw payload in place. */
export function EventList({ items }: { items: InboundEvent[] }) {
  return (
    <Table
      caption="Inbound events"
      head={['Received', 'Type', 'Outcome', 'Transport', 'Payload']}
      rows={items.length}
      empty="No event recorded."
    >
      {items.map((ev) => (
        <tr key={ev.id}>
          <td>
            <Time at={ev.receivedAt} />
          </td>
          <td>
            <a href={href('events', ev.id)}>{ev.eventType}</a>
          </td>
          <td>
            <Badge value={ev.outcome} /> {ev.reason ? <span class="muted small">{ev.reason}</span> : null}
          </td>
          <td>{ev.transport.kind}</td>
          <td>
            <RawPayload id={ev.id} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

function RawPayload({ id }: { id: string }) {
  const [state, setState] = useState<{ raw?: string | null; error?: unknown; open: boolean }>({ open: false });
  const toggle = async () => {
    if (state.open) return setState((s) => ({ ...s, open: false }));
    try {
      const event = await api<InboundEvent>('GET', `/events/${path(id)}`);
      setState({ raw: event.raw ?? null, open: true });
    } catch (error) {
      setState({ error, open: true });
    }
  };
  return (
    <div>
      <button type="button" class="button small" aria-expanded={state.open} onClick={() => void toggle()}>
        {state.open ? 'Hide' : 'Show'}
      </button>
      {state.open && state.error ? <ErrorNote error={state.error} /> : null}
      {state.open && !state.error ? <pre class="raw">{prettyJson(state.raw)}</pre> : null}
    </div>
  );
}

export function prettyJson(raw: string | null | undefined): string {
  if (!raw) return '(no payload kept)';
  try {
    return JSON.stringify(JSON.parse(raw), null, 2);
  } catch {
    return raw;
  }
}
