import { randomBytes } from 'node:crypto';
/** Who wrote a message, as the wire says it. */
export type SenderKind = 'visitor' | 'agent' | 'bot' | 'system';

export interface SimVisitor {
  id: string;
  teamId: string;
  name: string;
  email: string;
  country: string;
  firstSeen: number;
}

export interface SimConversation {
  id: string;
  teamId: string;
  visitorId: string;
  status: 'open' | 'closed';
  startedAt: number;
  assignedTo: string | null;
}

export interface SimMessage {
  id: string;
  conversationId: string;
  sender: { kind: SenderKind; id: string; name: string };
  text: string;
  ts: string;
  /** The poster's idempotency key (contract §1): stored and returned, never deduplicated on. */
  clientMsgId?: string;
}

export interface SimAgent {
  id: string;
  name: string;
  email: string;
  status: 'online' | 'away';
}

export const newId = (prefix: string): string => `${prefix}${randomBytes(6).toString('hex').toUpperCase()}`;

/** ClickDesk's side of the data: visitors, conversations, messages, agents. */
export class SimWorld {
  readonly visitors = new Map<string, SimVisitor>();
  readonly conversations = new Map<string, SimConversation>();
  private readonly messages = new Map<string, SimMessage[]>();
  private readonly listeners = new Map<string, Set<(m: SimMessage) => void>>();
  /** Agents of teams created at run time; the original teams share `agents`. */
  readonly teamAgents = new Map<string, SimAgent[]>();
  readonly agents: SimAgent[] = [
    { id: 'U0AGENT1', name: 'Alex Agent', email: 'alex@support.example', status: 'online' },
    { id: 'U0AGENT2', name: 'Sam Support', email: 'sam@support.example', status: 'away' },
  ];

  agentsOf(teamId: string): SimAgent[] {
    return this.teamAgents.get(teamId) ?? this.agents;
  }

  createVisitor(teamId: string, name: string, email = ''): SimVisitor {
    const visitor = { id: newId('V'), teamId, name, email, country: 'NL', firstSeen: nowSeconds() };
    this.visitors.set(visitor.id, visitor);
    return visitor;
  }

  startConversation(teamId: string, visitorId: string): SimConversation {
    const conversation: SimConversation = {
      id: newId('C'),
      teamId,
      visitorId,
      status: 'open',
      startedAt: nowSeconds(),
      assignedTo: null,
    };
    this.conversations.set(conversation.id, conversation);
    this.messages.set(conversation.id, []);
    return conversation;
  }

  addMessage(
    conversationId: string,
    sender: SimMessage['sender'],
    text: string,
    clientMsgId?: string,
  ): SimMessage {
    const ts = (Date.now() / 1000).toFixed(6);
    const message: SimMessage = {
      id: newId('M'),
      conversationId,
      sender,
      text,
      ts,
      ...(clientMsgId === undefined ? {} : { clientMsgId }),
    };
    this.messages.get(conversationId)?.push(message);
    for (const listener of this.listeners.get(conversationId) ?? []) listener(message);
    return message;
  }

  history(conversationId: string): SimMessage[] {
    return [...(this.messages.get(conversationId) ?? [])];
  }

  /** Messages in a conversation by sender kind, e.g. how many times the bot spoke. */
  countBy(conversationId: string, kind: SenderKind): number {
    return this.history(conversationId).filter((m) => m.sender.kind === kind).length;
  }

  subscribe(conversationId: string, listener: (m: SimMessage) => void): () => void {
    const set = this.listeners.get(conversationId) ?? new Set();
    set.add(listener);
    this.listeners.set(conversationId, set);
    return () => set.delete(listener);
  }

  /** Deleted upstream: the Web API answers `*_not_found` from now on. */
  deleteVisitor(visitorId: string): void {
    this.visitors.delete(visitorId);
    for (const c of this.conversations.values()) {
      if (c.visitorId === visitorId) {
        this.conversations.delete(c.id);
        this.messages.delete(c.id);
      }
    }
  }
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
