/** The test kit: run a bot against the real simulator in-process and talk to it as a visitor. */
export { startBotSandbox, type BotSandbox, type BotSandboxOptions } from './bot-sandbox';
export { SandboxChat } from './sandbox-chat';
