/** Seed 001's 27 MCP tools, in its order (the generator and MCP suites both check against it). */
export const SEED_TOOLS = [
  'list_workflows', 'get_workflow', 'create_workflow', 'update_workflow', 'delete_workflow',
  'import_asset',
  'estimate_cost', 'generate_scene', 'get_generation_status',
  'get_workflow_audio', 'set_clip_native_audio', 'attach_track', 'update_track', 'detach_track',
  'create_render', 'get_render', 'list_renders', 'list_all_renders',
  'quality_check', 'get_scene_frame',
  'list_channels', 'publish_video', 'schedule_video',
  'get_ledger', 'get_monthly_usage', 'get_status', 'get_schema',
] as const;

/** Tools added since the seed (issue 17): every scene reviewed in one call; the account's settings. */
export const ADDED_TOOLS = ['review_scenes'] as const;

/** Every tool the MCP server serves. */
export const MCP_TOOLS = [...SEED_TOOLS, ...ADDED_TOOLS] as const;
