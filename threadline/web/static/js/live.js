/** One EventSource on /v1/events, kept open across drops, server restarts and token expiry.
 *
 * EventSource cannot set headers, so the stream is opened with a short-lived stream token in `?token=`,
 * never with the access token. It cannot change its URL either: on any error the source is closed and a new
 * one opened with a fresh token and `?last_event_id=` of the last event applied, so nothing is lost or
 * repeated (docs/events.md, "Resuming"). */

export const EVENT_TYPES = [
  "workspace.updated", "workspace.deleted",
  "member.added", "member.updated", "member.removed",
  "conversation.created", "conversation.updated", "conversation.deleted",
  "message.created", "message.updated", "message.deleted", "message.delta",
];

const RETRY_DELAYS_MS = [250, 1000, 2000, 3000];
const RENEW_BEFORE_EXPIRY_MS = 60_000;

export class LiveStream {
  /** Handlers: `onEvent(event)` in log order, each once; `onReset(reason)` when the server cannot resume
   * (reload what is shown); `onRevoked(reason)` when the stream's credential ended; `onStatus("live" |
   * "reconnecting")`. */
  constructor(api, { onEvent, onReset, onRevoked, onStatus }) {
    this.api = api;
    this.handlers = { onEvent, onReset, onRevoked, onStatus };
    this.lastEventId = null;
    this.source = null;
    this.token = null;
    this.renewal = null;
    this.failures = 0;
    this.timers = new Set();
    this.stopped = false;
    this.ready = new Promise((resolve) => { this.markReady = resolve; });
  }

  /** Open the stream; the returned promise settles at the first `ready`, from when every change is heard. */
  start() {
    this.open();
    return this.ready;
  }

  stop() {
    this.stopped = true;
    this.source?.close();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  async open() {
    if (this.stopped) return;
    let token;
    try {
      token = await this.streamToken();
    } catch (error) {
      if (error.status !== 401) this.retry();  // a 401 signs out: nothing to reconnect for
      return;
    }
    if (this.stopped) return;
    const query = new URLSearchParams({ token });
    if (this.lastEventId !== null) query.set("last_event_id", String(this.lastEventId));
    const source = new EventSource(`/v1/events?${query}`);
    this.source = source;
    source.addEventListener("ready", (event) => {
      this.lastEventId = JSON.parse(event.data).last_event_id;
      this.failures = 0;
      this.handlers.onStatus("live");
      this.markReady();
    });
    source.addEventListener("reset", (event) => this.handlers.onReset(JSON.parse(event.data).reason));
    source.addEventListener("revoked", (event) => {
      this.stop();
      this.handlers.onRevoked(JSON.parse(event.data).reason);
    });
    for (const type of EVENT_TYPES) source.addEventListener(type, (event) => this.apply(event));
    source.onerror = () => {
      source.close();
      if (this.source === source) this.retry();
    };
  }

  apply(message) {
    const id = Number(message.lastEventId);
    if (this.lastEventId !== null && id <= this.lastEventId) return;  // already applied
    this.lastEventId = id;
    this.handlers.onEvent(JSON.parse(message.data));
  }

  retry() {
    if (this.stopped) return;
    this.handlers.onStatus("reconnecting");
    const delay = RETRY_DELAYS_MS[Math.min(this.failures, RETRY_DELAYS_MS.length - 1)];
    this.failures += 1;
    this.later(delay, () => this.open());
  }

  /** A stream token with a minute to spare (or half its life, if shorter). */
  async streamToken() {
    if (!this.token || Date.now() > this.token.renewAt) await this.renewToken();
    return this.token.value;
  }

  /** Fetch a stream token, and its successor before it expires, so a reconnect rarely waits for one. */
  async renewToken() {
    const { token, expires_in: expiresIn } = await this.api.post("/v1/auth/stream-tokens");
    const renewIn = Math.max(expiresIn * 1000 - RENEW_BEFORE_EXPIRY_MS, expiresIn * 500);
    this.token = { value: token, renewAt: Date.now() + renewIn };
    clearTimeout(this.renewal);  // one chain of renewals, however often a reconnect renewed first
    this.renewal = this.later(renewIn, () => this.renewToken().catch(() => { this.token = null; }));
  }

  later(delay, callback) {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      callback();
    }, delay);
    this.timers.add(timer);
    return timer;
  }
}
