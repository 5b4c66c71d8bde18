import type { EventCounts } from '../types.js';

/** Outcome colours: distinct in hue and lightness, each with a text label, so colour is never the only cue. */
export const OUTCOME_ORDER = ['applied', 'duplicate', 'stale', 'ignored', 'invalid', 'failed'] as const;

/**
 * Events of the last hours per source, one stacked bar per source split by outcome (SVG, no library). The numbers
 * are in the table under it too, for screen readers and for reading exact values.
 */
export function EventChart({ counts }: { counts: EventCounts }) {
  const sources = [...new Set(counts.counts.map((c) => c.source))];
  const of = (source: string, outcome: string) =>
    counts.counts.find((c) => c.source === source && c.outcome === outcome)?.count ?? 0;
  const totals = sources.map((s) => OUTCOME_ORDER.reduce((sum, o) => sum + of(s, o), 0));
  const max = Math.max(1, ...totals);
  const width = 560;
  const label = 96;
  const bar = 22;
  const gap = 12;
  const height = sources.length * (bar + gap);
  const scale = (n: number) => (n / max) * (width - label - 56);
  const summary = sources.map((s, i) => `${s} ${totals[i]}`).join(', ');
  return (
    <figure class="chart">
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`Events per source over the last ${counts.hours} hours: ${summary}`}
        preserveAspectRatio="xMinYMin meet"
      >
        {sources.map((source, i) => {
          const y = i * (bar + gap);
          let x = label;
          return (
            <g key={source}>
              <text x={0} y={y + bar * 0.7} class="chart-label">
                {source}
              </text>
              {OUTCOME_ORDER.map((outcome) => {
                const n = of(source, outcome);
                if (!n) return null;
                const w = Math.max(2, scale(n));
                const rect = (
                  <rect key={outcome} x={x} y={y} width={w} height={bar} class={`seg ${outcome}`}>
                    <title>{`${source}: ${n} ${outcome}`}</title>
                  </rect>
                );
                x += w;
                return rect;
              })}
              <text x={x + 6} y={y + bar * 0.7} class="chart-total">
                {totals[i]}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ul class="legend">
          {OUTCOME_ORDER.map((o) => (
            <li key={o}>
              <span class={`swatch ${o}`} aria-hidden="true" /> {o}
            </li>
          ))}
        </ul>
      </figcaption>
      <details>
        <summary>Numbers</summary>
        <div class="table-wrap">
          <table class="compact">
            <caption class="visually-hidden">Events per source and outcome</caption>
            <thead>
              <tr>
                <th scope="col">Source</th>
                {OUTCOME_ORDER.map((o) => (
                  <th scope="col" key={o}>
                    {o}
                  </th>
                ))}
                <th scope="col">total</th>
              </tr>
            </thead>
            <tbody>
              {sources.map((s, i) => (
                <tr key={s}>
                  <th scope="row">{s}</th>
                  {OUTCOME_ORDER.map((o) => (
                    <td key={o} class="num">
                      {of(s, o)}
                    </td>
                  ))}
                  <td class="num">{totals[i]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
