import { useState } from 'preact/hooks';
import { api, query, type Page } from '../api.js';
import { Badge, Loaded, Section, Table, Time, useLoad } from '../components/ui.js';
import { figureList } from '../format.js';
import type { Run } from '../types.js';

const JOBS: Record<string, string> = {
  '': 'all jobs',
  expire: 'expiry sweep',
  expiring: 'expiring notices',
  reconcile: 'reconciliation',
  decisions: 'decision check',
  usage: 'usage reporter',
};

/** Lifecycle runs with their figures; a reconciliation's drift items one click away. */
export function RunsPage() {
  const [job, setJob] = useState('');
  const runs = useLoad(() => api<Page<Run>>('GET', `/runs${query({ job, pageSize: 50 })}`), [job]);
  return (
    <>
      <h1>Lifecycle runs</h1>
      <Section
        title="Recent runs"
        id="runs-list"
        count={runs.data?.items.length}
        actions={
          <form class="filters" onSubmit={(e) => e.preventDefault()}>
            <label>
              Job{' '}
              <select value={job} onChange={(e) => setJob((e.target as HTMLSelectElement).value)}>
                {Object.entries(JOBS).map(([value, label]) => (
                  <option key={value} value={value}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
          </form>
        }
      >
        <Loaded state={runs} what="runs">
          {(page) => (
            <Table
              caption="Lifecycle runs"
              head={['Started', 'Job', 'Result', 'Took', 'Figures', 'Details']}
              rows={page.items.length}
              empty="No run recorded yet."
            >
              {page.items.map((r) => (
                <tr key={r.runId}>
                  <td>
                    <Time at={r.startedAt} />
                  </td>
                  <td>{JOBS[r.job] ?? r.job}</td>
                  <td>{r.ok ? <Badge value="done" /> : <Badge value="failed" />}</td>
                  <td class="num">
                    {((new Date(r.finishedAt).getTime() - new Date(r.startedAt).getTime()) / 1000).toFixed(1)} s
                  </td>
                  <td>
                    {r.ok ? (
                      <ul class="figures">
                        {figureList(r.figures).map(([name, value]) => (
                          <li key={name} class={value > 0 && /drift|errors|failed/.test(name) ? 'warn' : ''}>
                            {name} <strong>{value}</strong>
                          </li>
                        ))}
                      </ul>
                    ) : (
                      <span class="error-text">{r.error}</span>
                    )}
                  </td>
                  <td>
                    {r.report && (Array.isArray(r.report.drift) ? r.report.drift.length : 0) > 0 ? (
                      <details>
                        <summary>Drift ({(r.report.drift as unknown[]).length})</summary>
                        <ul class="drift">
                          {(
                            r.report.drift as {
                              kind: string;
                              id: string;
                              differences?: string[];
                              outcome?: string;
                              fixed?: boolean;
                            }[]
                          ).map((d) => (
                            <li key={`${d.kind}:${d.id}`}>
                              {d.kind} <code>{d.id}</code>: {(d.differences ?? []).join('; ')} —{' '}
                              {d.fixed ? 'fixed' : `not fixed (${d.outcome ?? '?'})`}
                            </li>
                          ))}
                        </ul>
                      </details>
                    ) : (
                      <span class="muted small">{r.runId}</span>
                    )}
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
