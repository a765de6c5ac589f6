import type { Logger } from 'pino';
import type { z } from 'zod';
import type { ChatHandler } from '../core/chat-handler';

/** A handler as a plain function, or an object (`ChatHandler`) when it keeps options such as `receivesOwnMessages`. */
export type BotHandler = ChatHandler | ChatHandler['handle'];

/** A schema of the fork's own environment variables (`z.object({ ORDERS_URL: z.url() })`). */
export type BotSettingsSchema = z.ZodObject;

/**
 * Everything the kit needs to know of a fork's bot, in one place: its own settings, the
 * origins it may call, its fallback text and how to build its handler. `runBot` (and the test
 * kit) validate the settings with the app's own configuration, then call `create` once.
 */
export interface BotDefinition<S extends BotSettingsSchema = BotSettingsSchema> {
  /** Names the bot in logs. */
  readonly name: string;
  /**
   * The fork's own environment variables, validated at start beside the app's (same error
   * message, naming each variable). List each in `.env.example`.
   */
  readonly settings?: S;
  /**
   * Origins `ctx.fetch` may reach, typically from the settings (`s => [s.ORDERS_URL]`); added to
   * EGRESS_ALLOWED_ORIGINS so the bot's own services need no second setting (Terms 4.8.2).
   */
  readonly egress?: (settings: z.infer<S>) => readonly string[];
  /** Sent in place of a reply the channel policy blocks (Terms 4.8), unless POLICY_FALLBACK_TEXT is set. */
  readonly fallbackText?: string;
  /** Builds the handler once, at start. */
  create(init: { settings: z.infer<S>; logger: Logger }): BotHandler | Promise<BotHandler>;
}

/** Declares a bot; the identity function that gives `create` and `egress` the settings' types. */
export function defineBot<S extends BotSettingsSchema = z.ZodObject<Record<string, never>>>(
  definition: BotDefinition<S>,
): BotDefinition<S> {
  return definition;
}

/** A handler function as a `ChatHandler`. */
export const asChatHandler = (handler: BotHandler): ChatHandler =>
  typeof handler === 'function' ? { handle: handler } : handler;
