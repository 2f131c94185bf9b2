import { Shell } from '../components/Shell.js';
import { Link } from '../router.js';
import { ApiKeys } from './ApiKeys.js';
import { Channels } from './Channels.js';
import { Webhooks } from './Webhooks.js';

const TABS = [
  { id: 'channels', label: 'Channels', page: Channels },
  { id: 'api-keys', label: 'API keys', page: ApiKeys },
  { id: 'webhooks', label: 'Webhooks', page: Webhooks },
] as const;

export function isSettingsTab(id: string): boolean {
  return TABS.some((t) => t.id === id);
}

export function Settings(props: { tab: string }) {
  const tab = TABS.find((t) => t.id === props.tab) ?? TABS[0];
  const Page = tab.page;
  return (
    <Shell title={`Settings: ${tab.label}`}>
      <nav aria-label="Settings" class="tabs">
        <ul>{TABS.map((t) => <li key={t.id}><Link href={`/settings/${t.id}`} aria-current={t.id === tab.id ? 'page' : undefined}>{t.label}</Link></li>)}</ul>
      </nav>
      <Page />
    </Shell>
  );
}
