import { Shell } from '../components/Shell.js';
import { Link } from '../router.js';

/** Any console path no page answers (a mistyped, truncated or mangled link). */
export function NotFound() {
  return (
    <Shell title="Page not found">
      <p role="alert">There is no page at this address in the console.</p>
      <p><Link href="/workflows">Go to your workflows</Link></p>
    </Shell>
  );
}
