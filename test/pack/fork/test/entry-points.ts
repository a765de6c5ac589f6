// Every entry point the packages publish, so that `tsc` checks all of their types.
export type * as kit from '@clickdesk-bot/kit';
export type * as sandbox from '@clickdesk-bot/sandbox';
export type * as testing from '@clickdesk-bot/sandbox/testing';
