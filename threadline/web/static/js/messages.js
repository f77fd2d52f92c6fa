/** The messages of one conversation as shown: ordered by `seq`, one per id, and the streaming-reply rule
 * of docs/streaming.md. Lengths and offsets count Unicode code points, as the server does. */

const SURROGATE = /[\uD800-\uDFFF]/;

export function codePointLength(text) {
  return SURROGATE.test(text) ? Array.from(text).length : text.length;
}

function codePointPrefix(text, count) {
  return SURROGATE.test(text) ? Array.from(text).slice(0, count).join("") : text.slice(0, count);
}

/** The text after a delta, or null when the delta starts past the text: a piece was missed. Applying a
 * delta twice, or one a REST read already had, changes nothing. */
export function applyDelta(shown, { offset, text }) {
  if (offset > codePointLength(shown)) return null;
  return codePointPrefix(shown, offset) + text;
}

export class MessageList {
  constructor() {
    this.byId = new Map();
    this.hasMore = false;
  }

  get ordered() {
    return [...this.byId.values()].sort((a, b) => a.seq - b.seq);
  }

  get oldestSeq() {
    return Math.min(...[...this.byId.values()].map((message) => message.seq));
  }

  /** A message as the server gave it (REST, `message.created` or `message.updated`); an older copy never
   * replaces a newer one. */
  put(message) {
    const current = this.byId.get(message.id);
    if (current && Date.parse(current.updated_at) > Date.parse(message.updated_at)) return current;
    this.byId.set(message.id, message);
    return message;
  }

  remove(messageId) {
    this.byId.delete(messageId);
  }

  /** Apply a `message.delta`; answers the message, or null when it must be read again over REST. */
  grow(delta) {
    const message = this.byId.get(delta.message_id);
    if (!message) return null;
    const content = applyDelta(message.content, delta);
    if (content === null) return null;
    const grown = { ...message, content };
    this.byId.set(message.id, grown);
    return grown;
  }
}
