import { useState } from 'preact/hooks';
import { replayEvent, resolveEvent } from '../actions.js';
import { api, path, query, type Page } from '../api.js';
import { EventChart } from '../components/chart.js';
import { useDecide } from '../components/decision.js';
import { Badge, Facts, Loaded, Section, Table, Time, useCanDecide, useLoad } from '../components/ui.js';
import { href } from '../format.js';
import type { EventCounts, InboundEvent } from '../types.js';
import { prettyJson } from './entitlement.js';

const SOURCES = ['', 'gcp', 'purchasely', 'easycart', 'getcourse'];

/** Events that did not apply (invalid, failed), with replay and resolve; the last 24 h per source on top. */
export function EventsPage() {
  const [outcome, setOutcome] = useState<'invalid' | 'failed'>('invalid');
  const [source, setSource] = useState('');
  const counts = useLoad(() => api<EventCounts>('GET', `/event-counts${query({ hours: 24 })}`), []);
  const events = useLoad(
    () => api<Page<InboundEvent>>('GET', `/events${query({ outcome, source, pageSize: 100 })}`),
    [outcome, source],
  );
  const decide = useDecide();
  const canDecide = useCanDecide();
  const after = () => {
    events.reload();
    counts.reload();
  };
  return (
    <>
      <h1>Events</h1>
      <Section title="Last 24 hours" id="events-chart" count={counts.data?.total}>
        <Loaded state={counts} what="event counts">
          {(c) => <EventChart counts={c} />}
        </Loaded>
      </Section>
      <Section
        title={outcome === 'invalid' ? 'Invalid events' : 'Failed events'}
        id="events-list"
        count={events.data?.items.length}
        actions={
          <form class="filters" onSubmit={(e) => e.preventDefault()}>
            <label>
              Outcome{' '}
              <select
                value={outcome}
                onChange={(e) => setOutcome((e.target as HTMLSelectElement).value as 'invalid' | 'failed')}
              >
                <option value="invalid">invalid</option>
                <option value="failed">failed</option>
              </select>
            </label>
            <label>
              Source{' '}
              <select value={source} onChange={(e) => setSource((e.target as HTMLSelectElement).value)}>
                {SOURCES.map((s) => (
                  <option key={s} value={s}>
                    {s || 'all'}
                  </option>
                ))}
              </select>
            </label>
          </form>
        }
      >
        <Loaded state={events} what="events">
          {(page) => (
            <Table
              caption={`${outcome} events`}
              head={['Received', 'Event', 'Why', 'Entitlement', 'Attempts', '']}
              rows={page.items.length}
              empty={`No ${outcome} event${source ? ` from ${source}` : ''}.`}
            >
              {page.items.map((ev) => (
                <tr key={ev.id}>
                  <td>
                    <Time at={ev.receivedAt} />
                  </td>
                  <td>
                    <a href={href('events', ev.id)}>{ev.eventType}</a>
                    <div class="muted small">{ev.source}</div>
                  </td>
                  <td>
                    {ev.reason ?? '—'}
                    {ev.refusedFields?.length ? <div class="small">refused: {ev.refusedFields.join(', ')}</div> : null}
                    {ev.refusals ? <Refusals refusals={ev.refusals} /> : null}
                  </td>
                  <td>
                    {ev.entitlementId ? <a href={href('entitlements', ev.entitlementId)}>{ev.entitlementId}</a> : '—'}
                  </td>
                  <td class="num">{ev.attempts}</td>
                  <td>
                    {canDecide && replayable(ev) ? (
                      <div class="row-actions">
                        <button type="button" class="button" onClick={() => decide({ ...replayEvent(ev), after })}>
                          Replay
                        </button>
                        {ev.refusedFields?.length ? (
                          <button type="button" class="button" onClick={() => decide({ ...resolveEvent(ev), after })}>
                            Resolve…
                          </button>
                        ) : null}
                      </div>
                    ) : null}
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

/** Refused-request records (`REFUSED`, never verified) are counts, not events: nothing to replay. */
function replayable(ev: InboundEvent): boolean {
  return (ev.outcome === 'invalid' || ev.outcome === 'failed') && !ev.refusals && ev.eventType !== 'REFUSED';
}

function Refusals({ refusals }: { refusals: NonNullable<InboundEvent['refusals']> }) {
  return (
    <div class="small">
      {refusals.count} refused request(s){refusals.throttled ? `, ${refusals.throttled} throttled` : ''},{' '}
      <Time at={refusals.firstAt} /> – <Time at={refusals.lastAt} />
    </div>
  );
}

export function EventPage({ id }: { id: string }) {
  const event = useLoad(() => api<InboundEvent>('GET', `/events/${path(id)}`), [id]);
  const decide = useDecide();
  const canDecide = useCanDecide();
  return (
    <Loaded state={event} what={`event ${id}`}>
      {(ev) => (
        <>
          <div class="title-row">
            <h1>
              <span class="muted">Event</span> {ev.id}
            </h1>
            <Badge value={ev.outcome} />
          </div>
          {canDecide && replayable(ev) ? (
            <div class="row-actions">
              <button type="button" class="button" onClick={() => decide({ ...replayEvent(ev), after: event.reload })}>
                Replay
              </button>
              {ev.refusedFields?.length ? (
                <button
                  type="button"
                  class="button"
                  onClick={() => decide({ ...resolveEvent(ev), after: event.reload })}
                >
                  Resolve…
                </button>
              ) : null}
            </div>
          ) : null}
          <Section title="Summary" id="event-summary">
            <Facts
              facts={[
                ['Source', ev.source],
                ['Type', ev.eventType],
                ['Key', <code class="wrap">{ev.eventKey}</code>],
                ['Why', ev.reason],
                ['Refused fields', ev.refusedFields?.join(', ') ?? null],
                [
                  'Entitlement',
                  ev.entitlementId ? <a href={href('entitlements', ev.entitlementId)}>{ev.entitlementId}</a> : null,
                ],
                ['Transport', `${ev.transport.kind}${ev.transport.id ? ` ${ev.transport.id}` : ''}`],
                ['Attempts', String(ev.attempts)],
                ['Received', <Time at={ev.receivedAt} />],
                ['Updated', <Time at={ev.updatedAt} />],
                ['Resolved', ev.resolution ? `by ${ev.resolution.actor.id}: ${ev.resolution.reason}` : null],
                ['Refused requests', ev.refusals ? <Refusals refusals={ev.refusals} /> : null],
              ]}
            />
          </Section>
          <Section title="Raw payload" id="event-raw">
            {ev.rawTruncated ? <p class="note wait">Cut at 32 KB when received.</p> : null}
            <pre class="raw">{prettyJson(ev.raw)}</pre>
          </Section>
        </>
      )}
    </Loaded>
  );
}
