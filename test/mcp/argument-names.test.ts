/**
 * An argument a tool does not take, named like an Object.prototype member (`toString`,
 * `constructor`...): the advice must not send the agent to a sibling tool that "takes" it. The
 * sibling search read `name in tool.args`, which finds every such name on the prototype, so
 * publish_video's refusal of `toString` said "use schedule_video, which takes 'toString'".
 */
import { describe, expect, it } from 'vitest';
import { mcpTools, mcpToolsByName, toolRequest } from '../../generated/mcp.gen.js';
import { validatorFor } from '../../packages/mcp/src/arguments.js';

describe('an unknown argument named like an Object.prototype member', () => {
  it('is refused without pointing at a sibling tool', () => {
    const publish = mcpToolsByName.get('publish_video')!;
    for (const name of ['toString', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const issues = validatorFor(mcpTools).check(publish, { id: 'wf_abc', channel_id: 'ch_abc', [name]: 1 });
      const issue = issues.find((i) => i.argument === name);
      expect(issue, name).toMatchObject({ code: 'unknown_argument' });
      expect(issue!.use, name).toBeUndefined();
      expect(issue!.message, name).not.toMatch(/schedule_video/);
    }
    // A real sibling argument still points at the sibling.
    const sibling = validatorFor(mcpTools).check(publish, { id: 'wf_abc', channel_id: 'ch_abc', local_time: '2030-01-01T09:00' });
    expect(sibling.find((i) => i.argument === 'local_time')).toMatchObject({ use: 'schedule_video' });
  });
});

describe('toolRequest', () => {
  it('refuses an argument named like an Object.prototype member as one the tool does not take', () => {
    const list = mcpToolsByName.get('list_workflows')!;
    for (const name of ['toString', 'constructor', 'hasOwnProperty']) {
      expect(() => toolRequest(list, { [name]: 1 }), name).toThrow(`list_workflows takes no argument '${name}'`);
    }
  });
});
