/**
 * What a handler may do in ClickDesk. The ClickDesk adapter implements it; every outbound
 * message goes through here, so controls on what the bot says belong in front of it.
 */
export interface ChatActions {
  postMessage(teamId: string, conversationId: string, text: string): Promise<void>;
  transferToAgents(teamId: string, conversationId: string): Promise<void>;
}
