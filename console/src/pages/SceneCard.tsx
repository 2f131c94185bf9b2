import { useState } from 'preact/hooks';
import type { QualityReport, Scene, SceneCost } from '@lavendly/sdk';
import { api } from '../api.js';
import { Badge, ErrorText } from '../components/Alert.js';
import { credits, reviewedBy, seconds } from '../format.js';
import { useAction } from '../hooks.js';
import { Stored } from '../text.js';

/** One scene: its prompt, opening frame, clip, status and the actions on it alone. */
export function SceneCard(props: { workflowId: string; scene: Scene; cost?: SceneCost; onStarted: () => void }) {
  const { scene } = props;
  const action = useAction();
  const [report, setReport] = useState<QualityReport | null>(null);
  const n = scene.index + 1;
  return (
    <li class="card scene" data-scene={scene.node_id} data-status={scene.status}>
      <div class="scene-head">
        <h3>Scene {n}</h3>
        <Badge status={scene.status} />
      </div>
      <div class="media">
        {scene.image_url
          ? <img src={scene.image_url} alt={`Opening frame of scene ${n}`} loading="lazy" />
          : <div class="placeholder" aria-hidden="true">no frame yet</div>}
        {scene.clip_url && <video src={scene.clip_url} controls preload="metadata" playsInline aria-label={`Clip of scene ${n}`} />}
      </div>
      <p class="prompt"><Stored text={scene.prompt} /></p>
      <p class="meta">{seconds(scene.duration_s)}{props.cost ? ` · ${credits(props.cost.credits)}` : ''}</p>
      {scene.error && <p class="error">Last attempt failed: <Stored text={scene.error.message} /></p>}
      {report && (
        <div class={`quality ${report.pass ? 'pass' : 'fail'}`} role="status">
          <strong>Quality {report.pass ? 'passed' : 'failed'}</strong> (score {report.score}; {reviewedBy(report.vision_review)})
          {report.failures.length > 0 && <ul>{report.failures.map((f) => <li key={f.check}>{f.check}: <Stored text={f.message} /></li>)}</ul>}
          {report.reroll_hint && <p>Suggested hint: <Stored text={report.reroll_hint} /></p>}
        </div>
      )}
      <div class="row">
        <button type="button" disabled={action.busy !== null || scene.status === 'generating'}
          onClick={() => action.run('gen', async () => {
            await api.generate.start({ id: props.workflowId, node_id: scene.node_id, ...(report?.reroll_hint && !report.pass ? { reroll_hint: report.reroll_hint } : {}) });
            props.onStarted();
          })}>
          {scene.status === 'generated' ? `Regenerate scene ${n}` : `Generate scene ${n}`}
        </button>
        <button type="button" class="secondary" disabled={action.busy !== null || !scene.clip_url}
          onClick={() => action.run('qc', async () => setReport(await api.review.qualityCheck({ id: props.workflowId, node_id: scene.node_id })))}>
          {action.busy === 'qc' ? 'Checking…' : `Check quality of scene ${n}`}
        </button>
      </div>
      <ErrorText message={action.error} />
    </li>
  );
}
