/**
 * Prompts the server offers (prompts/list, prompts/get): the whole production flow as one
 * ready-made request, so a user can start it from their client's prompt menu.
 */
import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';

export const PROMPTS: Prompt[] = [
  {
    name: 'make_video',
    title: 'Make a short video',
    description: 'Create, price, generate, review, render and schedule a short video, asking the user before anything is spent or posted.',
    arguments: [
      { name: 'name', description: 'The video\'s name (default: Bookshop fox).', required: false },
      { name: 'shots', description: 'What happens, one shot per line (default: the fox story).', required: false },
      { name: 'when', description: 'When to post, in the user\'s words (default: 9am tomorrow).', required: false },
    ],
  },
];

const DEFAULT_SHOTS = ['a sleepy fox finding an old map', 'the map glowing', 'the fox stepping through a door of light'];

export function getPrompt(name: string, args: Record<string, string> = {}): GetPromptResult | null {
  if (name !== 'make_video') return null;
  const title = args.name?.trim() || 'Bookshop fox';
  const shots = args.shots?.trim() ? args.shots.split('\n').map((s) => s.trim()).filter(Boolean) : DEFAULT_SHOTS;
  const when = args.when?.trim() || '9am tomorrow';
  const text = `Using Lavendly:
1. Check my ledger (get_ledger); stop if I have less than 50 credits available.
2. Create a workflow called "${title}" with ${shots.length} shot${shots.length === 1 ? '' : 's'} of 5 s each: ${shots.join('; ')}.
3. Call estimate_cost, tell me the price and wait for my go-ahead.
4. Generate the whole video with generate_scene, then follow it with get_generation_status (pass wait_s to wait for changes) and tell me each scene as it lands.
5. Review every scene with review_scenes and show me the frames. If a scene fails, regenerate it with its reroll_hint (after telling me the price). If a report's vision_review is not "reviewed", say that only the signal checks ran and look at its frame yourself.
6. Render it with create_render (free once every scene is generated), wait for it with get_render (wait_s), and send me the video URL.
7. List my channels and, once I confirm, schedule it to YouTube for ${when} in my time zone (get_status gives the time zone and the current time).`;
  return { description: PROMPTS[0]!.description, messages: [{ role: 'user', content: { type: 'text', text } }] };
}
