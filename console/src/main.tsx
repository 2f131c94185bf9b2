import { render } from 'preact';
import { useEffect } from 'preact/hooks';
import { whenSignedOut } from './api.js';
import { match, navigate, usePath } from './router.js';
import { loadSession, session, sessionCheckFailed, sessionEnded } from './session.js';
import { useSignal } from './signal.js';
import { Playground } from './pages/Playground.js';
import { NotFound } from './pages/NotFound.js';
import { isSettingsTab, Settings } from './pages/Settings.js';
import { SignIn } from './pages/SignIn.js';
import { Uploads } from './pages/Uploads.js';
import { Usage } from './pages/Usage.js';
import { WorkflowPage } from './pages/WorkflowPage.js';
import { Workflows } from './pages/Workflows.js';
import './styles.css';

whenSignedOut(sessionEnded);

function Page(props: { path: string }) {
  const path = props.path.replace(/(.)\/+$/, '$1');
  let m: Record<string, string> | null;
  if (path === '/' || path === '/workflows') return <Workflows />;
  if ((m = match('/workflows/:id', path))) return <WorkflowPage id={m.id!} />;
  if ((m = match('/settings/:tab', path)) && isSettingsTab(m.tab!)) return <Settings tab={m.tab!} />;
  if (path === '/settings') return <Settings tab="channels" />;
  if (path === '/uploads') return <Uploads />;
  if (path === '/usage') return <Usage />;
  if (path === '/docs/try') return <Playground />;
  // A mistyped or mangled link says so instead of showing some other page as if it were the one asked for.
  return <NotFound />;
}

/**
 * Where to go after signing in: a page of this console, never another site. The browser drops
 * tabs and newlines from a URL before resolving it (`/\t/evil.example` is `//evil.example`), so
 * only the resolved URL says where `next` leads.
 */
function safeNext(next: string | null): string {
  if (!next) return '/workflows';
  let url: URL;
  try {
    url = new URL(next, location.origin);
  } catch {
    return '/workflows';
  }
  if (url.origin !== location.origin || url.pathname.startsWith('/sign-in')) return '/workflows';
  return `${url.pathname}${url.search}${url.hash}`;
}

/** The console's own pages change in place; any other path of this server is a full page load. */
const APP_PATHS = /^\/(workflows|uploads|settings|usage|docs\/try)(\/|\?|$)/;
function go(to: string): void {
  if (APP_PATHS.test(to)) navigate(to, { replace: true });
  else location.replace(to);
}

function App() {
  const { path, query } = usePath();
  const me = useSignal(session);
  const checkFailed = useSignal(sessionCheckFailed);
  useEffect(() => { void loadSession(); }, []);
  useEffect(() => {
    // location, not `path`: signing out navigates to /sign-in before this render sees it.
    if (me === null && path !== '/sign-in' && location.pathname !== '/sign-in') navigate(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    if (me && (path === '/' || path === '/sign-in')) go(safeNext(query.get('next')));
  }, [me, path]);
  if (me === undefined && checkFailed) {
    return (
      <main id="main" class="signin">
        <p class="error" role="alert">The console cannot reach the server: {checkFailed}.</p>
        <button type="button" onClick={() => void loadSession()}>Try again</button>
      </main>
    );
  }
  if (me === undefined) return <p class="loading" role="status">Loading…</p>;
  if (me === null) return path === '/sign-in' ? <SignIn /> : null;
  return <Page key={path} path={path} />;
}

render(<App />, document.getElementById('app')!);
