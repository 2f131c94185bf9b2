import type { ComponentChildren } from 'preact';

/** An error announced to screen readers; nothing when there is no message. */
export function ErrorText(props: { message: string | null | undefined }) {
  return props.message ? <p class="error" role="alert">{props.message}</p> : null;
}

export function Notice(props: { children: ComponentChildren }) {
  return <p class="notice" role="status">{props.children}</p>;
}

export function Badge(props: { status: string }) {
  return <span class={`badge s-${props.status}`}>{props.status}</span>;
}

/** A secret shown once, with a copy button. */
export function ShownOnce(props: { label: string; value: string; onDone: () => void }) {
  return (
    <div class="once" role="region" aria-label={props.label}>
      <p><strong>{props.label}</strong>: copy it now, it is shown only this once.</p>
      <code class="secret" data-testid="secret">{props.value}</code>
      <div class="row">
        <button type="button" onClick={() => navigator.clipboard?.writeText(props.value)}>Copy</button>
        <button type="button" class="secondary" onClick={props.onDone}>Done</button>
      </div>
    </div>
  );
}
