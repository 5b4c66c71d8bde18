import { useState } from 'preact/hooks';
import { api, query, type Page } from '../api.js';
import { Badge, Loaded, Section, Table, Time, useLoad } from '../components/ui.js';
import { href } from '../format.js';
import type { AuditEntry } from '../types.js';

const targetHref = (t: AuditEntry['target']) =>
  t.type === 'entitlement'
    ? href('entitlements', t.id)
    : t.type === 'account'
      ? href('accounts', t.id)
      : href('events', t.id);

export function AuditRows({ items, empty }: { items: AuditEntry[]; empty?: string }) {
  return (
    <Table
      caption="Audit trail"
      head={['When', 'Who', 'Action', 'Target', 'Reason', 'Outcome']}
      rows={items.length}
      empty={empty ?? 'No admin action yet.'}
    >
      {items.map((a) => (
        <tr key={a.id}>
          <td>
            <Time at={a.at} />
          </td>
          <td>
            {a.actor.id}
            <div class="muted small">
              {a.actor.kind === 'api-key' ? 'API key' : 'person'}, {a.role}
            </div>
          </td>
          <td>{a.action}</td>
          <td>
            {targetHref(a.target) ? (
              <a href={targetHref(a.target)!}>{a.target.id}</a>
            ) : (
              <code class="wrap">{a.target.id}</code>
            )}
            {a.target.plan ? <span class="muted small"> plan {a.target.plan}</span> : null}
          </td>
          <td>{a.reason ?? <span class="muted">—</span>}</td>
          <td>
            <Badge value={a.outcome} />
          </td>
        </tr>
      ))}
    </Table>
  );
}

/** Every admin action, newest first, with its actor; pages of 50. */
export function AuditPage() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors.at(-1) ?? null;
  const page = useLoad(() => api<Page<AuditEntry>>('GET', `/audit${query({ cursor, pageSize: 50 })}`), [cursor]);
  return (
    <>
      <h1>Audit trail</h1>
      <Section title="Admin actions" id="audit-list" count={page.data?.items.length}>
        <Loaded state={page} what="the audit trail">
          {(p) => (
            <>
              <AuditRows items={p.items} />
              <div class="pager">
                {cursors.length > 1 ? (
                  <button type="button" class="button" onClick={() => setCursors((c) => c.slice(0, -1))}>
                    Newer
                  </button>
                ) : null}
                {p.nextCursor ? (
                  <button type="button" class="button" onClick={() => setCursors((c) => [...c, p.nextCursor])}>
                    Older
                  </button>
                ) : null}
              </div>
            </>
          )}
        </Loaded>
      </Section>
    </>
  );
}
