import { cleanEnv, configError, type Env } from '../config/config-error';
import type { BotDefinition, BotSettingsSchema } from './define-bot';
import type { z } from 'zod';

/** Validates the bot's own settings from the environment; a bad one stops start-up like the app's do. */
export function loadBotSettings<S extends BotSettingsSchema>(bot: BotDefinition<S>, env: Env): z.infer<S> {
  if (!bot.settings) return {} as z.infer<S>;
  const given = cleanEnv(env);
  const parsed = bot.settings.safeParse(given);
  if (!parsed.success) throw configError(parsed.error.issues, given);
  return Object.freeze(parsed.data) as z.infer<S>;
}
