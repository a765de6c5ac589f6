/**
 * @clickdesk-bot/kit: the engine a ClickDesk bot runs on. A fork declares its bot with
 * `defineBot` and starts it with `runBot`; everything else here is for tools, tests and
 * advanced wiring. What is not exported here is internal and may change in any release.
 */

// Writing a bot
export { defineBot, type BotDefinition, type BotHandler, type BotSettingsSchema } from './start/define-bot';
export type { ChatEvent, InboundEvent, SenderKind } from './core/chat-event';
export type { ChatHandler, HandlerContext, VisitorProfile } from './core/chat-handler';
export type { ConversationRecord, ConversationStatus } from './core/conversation-store';
export { loadFaq, matchIntent, mentions, type Faq } from './faq/faq';
export { z } from 'zod';

// Running it
export { runBot } from './start/run-bot';
export { startApp, type RunningApp, type StartAppOptions } from './start/start-app';
export { loadBotSettings } from './start/bot-settings';

// Advanced wiring, tools and tests
export {
  createBotApp,
  DEFAULT_FALLBACK_TEXT,
  type BotApp,
  type BotAppOptions,
  type BotAppConfig,
} from './app';
export { loadConfig, CONFIG_VARIABLES, type AppConfig, type Env } from './config/load-config';
export { CodedError, isCodedError, describeError, type ErrorCode } from './errors';
export { createLogger, silentLogger, type Logger } from './logging/create-logger';
export { CONTRACT_LIMITS, type RateLimits } from './rate-limit/bucket-spec';
export type { LinkSeatStore, SeatSync, SeatSyncRequest } from './clickdesk/link-seats';
export type { SandboxModule, SandboxSimulator } from './sandbox-mode/sandbox-seam';
