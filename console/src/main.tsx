import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  api,
  ApiError,
  loadSettings,
  onSignedOut,
  setCredential,
  type ConsoleSettings,
  type Credential,
  type Principal,
} from './api.js';
import { Decide, DecisionDialog, type Decision } from './components/decision.js';
import { Session } from './components/ui.js';
import { href, jwtClaims, parseRoute } from './format.js';
import { AccountPage } from './pages/account.js';
import { AuditPage } from './pages/audit.js';
import { EntitlementPage } from './pages/entitlement.js';
import { EventPage, EventsPage } from './pages/events.js';
import { QueuePage } from './pages/queue.js';
import { RunsPage } from './pages/runs.js';
import { SearchPage } from './pages/search.js';
import './styles.css';

/** The subset of Google Identity Services the console uses (https://accounts.google.com/gsi/client). */
interface Gis {
  initialize(options: {
    client_id: string;
    callback: (r: { credential: string }) => void;
    auto_select?: boolean;
    ux_mode?: 'popup';
  }): void;
  renderButton(parent: HTMLElement, options: Record<string, unknown>): void;
  disableAutoSelect(): void;
}
declare global {
  interface Window {
    google?: { accounts: { id: Gis } };
  }
}

let gisLoading: Promise<Gis> | null = null;

/** Loads Google's sign-in library from Google (the only script not bundled: Google serves it, and the CSP names it). */
function loadGis(): Promise<Gis> {
  gisLoading ??= new Promise<Gis>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = 'https://accounts.google.com/gsi/client';
    script.async = true;
    script.onload = () =>
      window.google ? resolve(window.google.accounts.id) : reject(new Error('Google sign-in did not load'));
    script.onerror = () => {
      gisLoading = null;
      reject(new Error('Google sign-in could not be loaded (network or Content-Security-Policy)'));
    };
    document.head.append(script);
  });
  return gisLoading;
}

function SignIn(props: {
  settings: ConsoleSettings;
  message: string | null;
  onSignedIn: (c: Credential, p: Principal) => void;
}) {
  const { settings } = props;
  const button = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | null>(props.message);
  const [busy, setBusy] = useState(false);

  const tryCredential = async (credential: Credential) => {
    setBusy(true);
    setCredential(credential);
    try {
      const principal = await api<Principal>('GET', '/me');
      props.onSignedIn(credential, principal);
    } catch (e) {
      setCredential(null);
      setError(
        e instanceof ApiError && e.status === 403
          ? `${e.message}. Ask for your address to be listed in ADMIN_APPROVERS or ADMIN_VIEWERS.`
          : (e as Error).message,
      );
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    const clientId = settings.googleClientId;
    if (!clientId) return;
    loadGis().then(
      (gis) => {
        gis.initialize({
          client_id: clientId,
          callback: (r) => void tryCredential({ kind: 'google', idToken: r.credential }),
          ux_mode: 'popup',
        });
        if (button.current)
          gis.renderButton(button.current, { type: 'standard', theme: 'outline', size: 'large', text: 'signin_with' });
      },
      (e: Error) => setError(e.message),
    );
  }, [settings.googleClientId]);

  return (
    <main id="main" class="signin">
      <h1>Entitlements admin</h1>
      <p>
        Approve, reject and look up purchases. Sign in with the account the service lists as an approver or a viewer.
      </p>
      {error ? (
        <p class="note error" role="alert">
          {error}
        </p>
      ) : null}
      {settings.googleClientId ? (
        <section aria-labelledby="signin-google">
          <h2 id="signin-google">Google account</h2>
          <div ref={button} class="gis-button" />
        </section>
      ) : null}
      {settings.localSignIn ? (
        <section aria-labelledby="signin-local">
          <h2 id="signin-local">Local sandbox</h2>
          <form
            class="local-form"
            onSubmit={(e) => {
              e.preventDefault();
              const key = new FormData(e.currentTarget as HTMLFormElement).get('key');
              if (typeof key === 'string' && key.trim()) void tryCredential({ kind: 'local', key: key.trim() });
            }}
          >
            <div class="field">
              <label for="local-key">Local admin key</label>
              <input id="local-key" name="key" type="password" autoComplete="off" spellcheck={false} required />
              <p class="muted small">
                <code>npm run local</code> prints the sandbox's approver and viewer keys (ADMIN_LOCAL_KEYS; refused in
                production).
              </p>
            </div>
            <button type="submit" class="button primary" disabled={busy}>
              Sign in
            </button>
          </form>
        </section>
      ) : null}
      {!settings.googleClientId && !settings.localSignIn ? (
        <p class="note wait">
          No sign-in is configured: set ADMIN_AUDIENCE to the console's OAuth client id and list people in
          ADMIN_APPROVERS / ADMIN_VIEWERS (docs/admin-console.md).
        </p>
      ) : null}
    </main>
  );
}

function useRoute(): string[] {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return route;
}

const NAV: [string, string, string][] = [
  ['queue', 'Queue', '#/'],
  ['events', 'Events', href('events')],
  ['runs', 'Lifecycle runs', href('runs')],
  ['audit', 'Audit trail', href('audit')],
];

function Page({ route }: { route: string[] }) {
  const [name, id] = route;
  switch (name) {
    case 'search':
      return <SearchPage q={id ?? ''} />;
    case 'entitlements':
      return id ? <EntitlementPage id={id} /> : <QueuePage />;
    case 'accounts':
      return id ? <AccountPage id={id} /> : <QueuePage />;
    case 'events':
      return id ? <EventPage id={id} /> : <EventsPage />;
    case 'audit':
      return <AuditPage />;
    case 'runs':
      return <RunsPage />;
    default:
      return <QueuePage />;
  }
}

function Shell(props: { principal: Principal; onSignOut: () => void }) {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const search = useRef<HTMLInputElement>(null);
  const [decision, setDecision] = useState<Decision | null>(null);
  const [toast, setToast] = useState<string | null>(null);

  // A new page moves focus to its content, so keyboard and screen reader users start there; old news goes.
  useEffect(() => {
    main.current?.focus({ preventScroll: true });
    setToast(null);
  }, [route.join('/')]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) && !decision) {
        e.preventDefault();
        search.current?.focus();
      }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [decision]);
  useEffect(() => {
    if (!toast) return;
    const timer = setTimeout(() => setToast(null), 8000);
    return () => clearTimeout(timer);
  }, [toast]);

  return (
    <Decide.Provider value={setDecision}>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Entitlements admin
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([key, label, link]) => (
              <li key={key}>
                <a href={link} aria-current={route[0] === key ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <form
          class="search"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            const q = search.current?.value.trim();
            if (q) location.hash = href('search', q);
          }}
        >
          <label for="search" class="visually-hidden">
            Search by entitlement id, account id, e-mail or user id
          </label>
          <input
            id="search"
            ref={search}
            type="search"
            placeholder="Entitlement, account, e-mail, user id  ( / )"
            autoComplete="off"
          />
          <button type="submit" class="button">
            Search
          </button>
        </form>
        <div class="who">
          <span>
            {props.principal.id}{' '}
            <span class={`badge ${props.principal.role === 'approver' ? 'ok' : 'quiet'}`}>{props.principal.role}</span>
          </span>
          <button type="button" class="button small" onClick={props.onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
      <div class="toasts" aria-live="polite" role="status">
        {toast ? <p class="toast">{toast}</p> : null}
      </div>
      {decision ? (
        <DecisionDialog
          key={decision.title}
          decision={decision}
          onClose={(message) => {
            setDecision(null);
            if (message) setToast(message);
          }}
        />
      ) : null}
    </Decide.Provider>
  );
}

function App() {
  const [settings, setSettings] = useState<ConsoleSettings | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [session, setSession] = useState<{ principal: Principal; credential: Credential } | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    loadSettings().then(setSettings, (e: Error) => setFailure(e.message));
    onSignedOut((why) => {
      setCredential(null);
      setSession(null);
      setMessage(`Signed out: ${why}`);
    });
  }, []);

  // A Google ID token lasts an hour: sign out when it expires rather than fail each call after.
  useEffect(() => {
    if (session?.credential.kind !== 'google') return;
    const exp = jwtClaims(session.credential.idToken)?.exp;
    if (!exp) return;
    const timer = setTimeout(
      () => {
        setCredential(null);
        setSession(null);
        setMessage('Your Google sign-in expired; sign in again.');
      },
      Math.max(0, exp * 1000 - Date.now() - 30_000),
    );
    return () => clearTimeout(timer);
  }, [session]);

  if (failure) return <p class="note error">The console could not start: {failure}</p>;
  if (!settings) return <p class="muted">Loading…</p>;
  if (!session) {
    return (
      <SignIn
        settings={settings}
        message={message}
        onSignedIn={(credential, principal) => (setMessage(null), setSession({ credential, principal }))}
      />
    );
  }
  return (
    <Session.Provider value={{ principal: session.principal, maxReasonBytes: settings.maxReasonBytes }}>
      <Shell
        principal={session.principal}
        onSignOut={() => {
          setCredential(null);
          window.google?.accounts.id.disableAutoSelect();
          setSession(null);
          setMessage(null);
        }}
      />
    </Session.Provider>
  );
}

render(<App />, document.getElementById('app')!);
