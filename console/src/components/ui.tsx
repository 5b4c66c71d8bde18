import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type Principal } from '../api.js';
import { age, when } from '../format.js';

/** Who is signed in, and what the page may offer them (the API decides anyway). */
export const Session = createContext<{ principal: Principal; maxReasonBytes: number }>({
  principal: { kind: 'user', id: '', role: 'viewer' },
  maxReasonBytes: 256,
});

export function useSession() {
  return useContext(Session);
}

export function useCanDecide(): boolean {
  return useSession().principal.role === 'approver';
}

/** Loads `load()` on mount and whenever `deps` change; `reload()` runs it again (after an action). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const api = error instanceof ApiError ? error : null;
  return (
    <div class="note error" role="alert">
      <strong>{api?.status === 404 ? 'Not found' : 'Could not load'}</strong>{' '}
      {error instanceof Error ? error.message : String(error)}
      {api?.errorId ? <span class="muted"> (error id {api.errorId})</span> : null}
    </div>
  );
}

/** Renders `children(data)` once loaded; a message while loading or when it failed. */
export function Loaded<T>(props: {
  state: { data?: T; error?: unknown; loading: boolean };
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  if (props.state.error) return <ErrorNote error={props.state.error} />;
  if (props.state.data === undefined) return <Loading what={props.what} />;
  return <>{props.children(props.state.data)}</>;
}

const STATUS_TONE: Record<string, string> = {
  active: 'ok',
  applied: 'ok',
  done: 'ok',
  APPROVED: 'ok',
  pending_approval: 'wait',
  pending_plan_change: 'wait',
  pending_cancellation: 'wait',
  PENDING: 'wait',
  stale: 'wait',
  duplicate: 'quiet',
  ignored: 'quiet',
  expired: 'quiet',
  cancelled: 'quiet',
  suspended: 'bad',
  rejected: 'bad',
  REJECTED: 'bad',
  invalid: 'bad',
  failed: 'bad',
  refused: 'wait',
};

export function Badge({ value }: { value: string }) {
  return <span class={`badge ${STATUS_TONE[value] ?? 'quiet'}`}>{value.replace(/_/g, ' ')}</span>;
}

/** A time with its age; the exact time is the text, the age beside it. */
export function Age({ at, warnAfterHours = 24 }: { at: string | null | undefined; warnAfterHours?: number }) {
  if (!at) return <span class="muted">—</span>;
  const old = Date.now() - new Date(at).getTime() > warnAfterHours * 3_600_000;
  return (
    <span class={old ? 'age old' : 'age'}>
      <time dateTime={at}>{age(at)}</time>
      <span class="muted small"> since {when(at)}</span>
    </span>
  );
}

export function Time({ at }: { at: string | null | undefined }) {
  return at ? <time dateTime={at}>{when(at)}</time> : <span class="muted">—</span>;
}

export function Section(props: {
  title: string;
  id?: string;
  count?: number;
  children: ComponentChildren;
  actions?: ComponentChildren;
}) {
  const id = props.id ?? props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return (
    <section class="panel" aria-labelledby={id}>
      <div class="panel-head">
        <h2 id={id}>
          {props.title}
          {props.count !== undefined ? <span class="count"> {props.count}</span> : null}
        </h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

/** A table that scrolls sideways on a phone instead of squeezing its columns. */
export function Table(props: {
  caption: string;
  head: string[];
  children: ComponentChildren;
  empty?: string;
  rows: number;
}) {
  const table = useRef<HTMLTableElement>(null);
  // Each cell carries its column's name: on a phone the rows become cards that label their cells (styles.css).
  useLayoutEffect(() => {
    for (const row of table.current?.tBodies[0]?.rows ?? []) {
      [...row.cells].forEach((cell, i) => cell.setAttribute('data-label', props.head[i] ?? ''));
    }
  });
  if (props.rows === 0) return <p class="muted empty">{props.empty ?? 'Nothing here.'}</p>;
  return (
    <div class="table-wrap" tabIndex={0} role="region" aria-label={props.caption}>
      <table ref={table} class="cards">
        <caption class="visually-hidden">{props.caption}</caption>
        <thead>
          <tr>
            {props.head.map((h) => (
              <th scope="col" key={h}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** Key/value facts (source facts, the entitlement summary). */
export function Facts({ facts }: { facts: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {facts.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? <span class="muted">—</span>}</dd>
        </div>
      ))}
    </dl>
  );
}

export function display(value: unknown): ComponentChildren {
  if (value === null || value === undefined || value === '') return <span class="muted">—</span>;
  if (typeof value === 'object') return <code class="wrap">{JSON.stringify(value)}</code>;
  const text = String(value);
  return /^\d{4}-\d\d-\d\dT/.test(text) ? <Time at={text} /> : text;
}
