import { useState } from 'preact/hooks';
import type { LedgerEntry, MonthlyUsage } from '@lavendly/sdk';
import { api } from '../api.js';
import { ErrorText } from '../components/Alert.js';
import { Shell } from '../components/Shell.js';
import { credits, when } from '../format.js';
import { useLoad } from '../hooks.js';
import { Stored } from '../text.js';

const thisMonth = () => new Date().toISOString().slice(0, 7);

export function Usage() {
  const [month, setMonth] = useState(thisMonth());
  const [cursor, setCursor] = useState<string | null>(null);
  const [entries, setEntries] = useState<LedgerEntry[]>([]);
  const ledger = useLoad(async () => {
    const page = await api.ledger.get({ limit: 25, ...(cursor ? { cursor } : {}) });
    setEntries((prev) => (cursor ? [...prev, ...page.data] : page.data));
    return page;
  }, [cursor]);
  const usage = useLoad(() => api.telemetry.getMonthlyUsage({ month }), [month]);
  const l = ledger.data;
  return (
    <Shell title="Usage">
      <ErrorText message={ledger.error} />
      {l && (
        <dl class="figures">
          <div><dt>Available</dt><dd data-testid="available">{credits(l.available)}</dd></div>
          <div><dt>Reserved</dt><dd data-testid="reserved">{credits(l.reserved)}</dd></div>
          <div><dt>Balance</dt><dd>{credits(l.balance)}</dd></div>
        </dl>
      )}
      <section aria-labelledby="month-h">
        <h2 id="month-h">Monthly usage</h2>
        <label>Month<input type="month" value={month} onChange={(e) => e.currentTarget.value && setMonth(e.currentTarget.value)} /></label>
        <ErrorText message={usage.error} />
        {usage.data && <MonthChart usage={usage.data} />}
      </section>
      <section aria-labelledby="ledger-h">
        <h2 id="ledger-h">Ledger</h2>
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
          <table>
            <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Amount</th><th scope="col">Reason</th><th scope="col">Balance after</th><th scope="col">Reserved after</th></tr></thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id}><td>{when(e.created_at)}</td><td>{e.kind}</td><td>{e.amount}</td><td><Stored text={e.reason ?? '-'} /></td><td>{e.balance_after}</td><td>{e.reserved_after}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
        {l?.has_more && <button type="button" class="secondary" onClick={() => setCursor(l.next_cursor)}>Show older entries</button>}
      </section>
    </Shell>
  );
}

/** Credits spent per day as an inline SVG bar chart; the figures are also in a table for screen readers. */
function MonthChart(props: { usage: MonthlyUsage }) {
  const { usage } = props;
  const days = usage.days;
  const max = Math.max(1, ...days.map((d) => d.credits_spent));
  const bw = 12;
  const h = 120;
  const width = Math.max(days.length, 1) * (bw + 4) + 40;
  return (
    <figure class="chart">
      <p>{usage.month}: {credits(usage.credits_spent)} spent, {usage.clips_generated} clips, {usage.renders} renders.</p>
      <div class="chart-scroll" tabIndex={0} role="region" aria-label="Chart (scrolls sideways)">
        <svg viewBox={`0 0 ${width} ${h + 24}`} width={width} height={h + 24} aria-hidden="true" data-testid="usage-chart">
          <line x1="30" y1={h} x2={width} y2={h} class="axis" />
          <text x="0" y="12" class="tick">{max}</text>
          <text x="0" y={h} class="tick">0</text>
          {days.map((d, i) => {
            const bh = (d.credits_spent / max) * (h - 10);
            return (
              <g key={d.date}>
                <rect x={34 + i * (bw + 4)} y={h - bh} width={bw} height={bh} class="bar"><title>{`${d.date}: ${d.credits_spent} credits`}</title></rect>
                {(i % 5 === 0) && <text x={34 + i * (bw + 4)} y={h + 16} class="tick">{d.date.slice(8)}</text>}
              </g>
            );
          })}
        </svg>
      </div>
      <figcaption>
        <details>
          <summary>Daily figures</summary>
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
            <table>
              <thead><tr><th scope="col">Day</th><th scope="col">Credits</th><th scope="col">Clips</th><th scope="col">Renders</th></tr></thead>
              <tbody>{days.map((d) => <tr key={d.date}><td>{d.date}</td><td>{d.credits_spent}</td><td>{d.clips_generated}</td><td>{d.renders}</td></tr>)}</tbody>
            </table>
          </div>
        </details>
      </figcaption>
    </figure>
  );
}
