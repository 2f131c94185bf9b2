import { useState } from 'preact/hooks';
import { ErrorText } from '../components/Alert.js';
import { signIn } from '../session.js';

export function SignIn() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  document.title = 'Sign in · Lavendly';
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(null);
    try {
      await signIn(String(form.get('email')), String(form.get('password'))); // the app then leaves this page
    } catch (err) {
      setError((err as { status?: number }).status === 401 ? 'That email and password do not match an account.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Sign in to Lavendly</h1>
      <form onSubmit={submit} class="card stack">
        <label>Email<input name="email" type="email" autoComplete="username" required /></label>
        <label>Password<input name="password" type="password" autoComplete="current-password" required /></label>
        <ErrorText message={error} />
        <button type="submit" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
      </form>
      <p class="hint">No user yet? An operator creates one with <code>lavendly users create --account ID --email E</code>.</p>
    </main>
  );
}
