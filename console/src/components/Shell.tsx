import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../api.js';
import { hasNavigated, Link, navigate, usePath } from '../router.js';
import { session, signOut } from '../session.js';
import { useSignal } from '../signal.js';

const NAV = [
  { href: '/workflows', label: 'Workflows' },
  { href: '/uploads', label: 'Uploads' },
  { href: '/usage', label: 'Usage' },
  { href: '/settings/channels', label: 'Settings', prefix: '/settings' },
  { href: '/docs/try', label: 'API playground' },
];

/** The frame of every signed-in page: skip link, navigation, who is signed in, sign-out. */
export function Shell(props: { title: string; children: ComponentChildren }) {
  const { path } = usePath();
  const me = useSignal(session);
  const [signOutError, setSignOutError] = useState<string | null>(null);
  const leave = async () => {
    setSignOutError(null);
    try {
      await signOut();
      navigate('/sign-in');
    } catch (err) {
      setSignOutError(describeError(err));
    }
  };
  document.title = `${props.title} · Lavendly`;
  useEffect(() => {
    // The link just used left with the old page, dropping focus to <body>: keyboard and
    // screen-reader users would start again from the top. They continue at the new page's content.
    if (hasNavigated() && (!document.activeElement || document.activeElement === document.body)) document.getElementById('main')?.focus();
  }, []);
  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <Link href="/workflows" class="brand">Lavendly</Link>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => {
              const current = path === n.href || path.startsWith(`${n.prefix ?? n.href}/`) || (n.prefix !== undefined && path === n.prefix);
              return <li key={n.href}><Link href={n.href} aria-current={current ? 'page' : undefined}>{n.label}</Link></li>;
            })}
            <li><a href="/docs">API reference</a></li>
          </ul>
        </nav>
        <div class="who">
          <span class="email">{me?.email}</span>
          <button type="button" class="link" onClick={leave}>Sign out</button>
        </div>
      </header>
      {signOutError && <p class="error banner" role="alert">Not signed out: {signOutError}. Try again.</p>}
      <main id="main" tabIndex={-1}>
        <h1>{props.title}</h1>
        {props.children}
      </main>
    </>
  );
}
