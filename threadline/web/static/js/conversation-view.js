/** One conversation: its messages (paged back by `before`), live changes and streaming replies as they
 * grow, the composer, and editing. */

import { confirmDialog } from "./dialogs.js";
import { button, formatTime, h, replaceChildren, toast } from "./dom.js";
import { MessageList } from "./messages.js";

const PAGE_SIZE = 50;
const STATUS_LABELS = { streaming: "writing…", cancelled: "stopped", failed: "failed" };

export class ConversationView {
  /** `workspace` answers what the view needs of the shell: `api`, `me`, `canWrite()`, `isOwner()`,
   * `authorName(message)`, `holdingEvents(read)`, `back()`, `rename(conversation)` and
   * `remove(conversation)`. */
  constructor(workspace) {
    this.workspace = workspace;
    this.api = workspace.api;
    this.element = h("main", { class: "conversation", id: "main", tabindex: "-1" });
    this.close();
  }

  get conversationId() {
    return this.conversation?.id ?? this.opening ?? null;
  }

  close() {
    this.conversation = null;
    this.opening = null;
    this.messages = new MessageList();
    this.rows = new Map();
    document.title = "Threadline";
    replaceChildren(this.element,
      h("div", { class: "empty" },
        h("h2", {}, "No conversation open"),
        h("p", { class: "muted" }, "Pick a conversation, or start a new one.")));
  }

  /** Load a conversation; the events that arrive meanwhile are applied after it is drawn, which the
   * delta rule makes safe in any overlap. */
  async open(conversationId) {
    if (this.conversationId === conversationId) return;
    this.close();
    this.opening = conversationId;
    replaceChildren(this.element, h("p", { class: "empty muted" }, "Loading…"));
    const path = `/v1/conversations/${conversationId}`;
    try {
      await this.workspace.holdingEvents(async () => {
        const [conversation, window] = await Promise.all([
          this.api.get(path), this.api.get(`${path}/messages`, { limit: PAGE_SIZE })]);
        if (this.opening !== conversationId) return;
        this.opening = null;
        this.conversation = conversation;
        for (const message of window.items) this.messages.put(message);
        this.messages.hasMore = window.has_more;
        this.render();
      });
    } catch (error) {
      if (this.opening !== conversationId) return;
      this.close();
      toast(error.status === 404 ? "That conversation no longer exists." : `Could not open the conversation: ${error.message}`);
      if (error.status === 404) this.workspace.back();
      return;
    }
    this.scrollToEnd();
  }

  apply(event) {
    if (!this.conversation || event.conversation_id !== this.conversation.id) return;
    switch (event.type) {
      case "conversation.updated":
        this.conversation = event.data;
        this.renderHeader();
        break;
      case "message.created":
      case "message.updated":
        if (this.messages.byId.has(event.data.id) || this.isNewer(event.data)) this.show(this.messages.put(event.data));
        break;
      case "message.deleted":
        this.messages.remove(event.data.id);
        this.rows.get(event.data.id)?.remove();
        this.rows.delete(event.data.id);
        break;
      case "message.delta":
        this.grow(event.data);
        break;
    }
  }

  /** A message not shown is shown only if it falls after the oldest one loaded: older ones are paged in. */
  isNewer(message) {
    return !this.messages.hasMore || this.messages.byId.size === 0 || message.seq > this.messages.oldestSeq;
  }

  grow(delta) {
    const grown = this.messages.grow(delta);
    if (grown) this.show(grown);
    else if (this.isNewer(delta)) this.refetch(delta);
  }

  /** A delta past the text shown (or for a message not loaded): read the message, then apply this delta
   * and those that come meanwhile. */
  async refetch(delta) {
    const path = `/v1/conversations/${delta.conversation_id}/messages/${delta.message_id}`;
    try {
      await this.workspace.holdingEvents(async () => {
        const message = await this.api.get(path);
        if (delta.conversation_id !== this.conversation?.id) return;
        this.messages.put(message);
        this.show(this.messages.grow(delta) ?? message);
      });
    } catch {
      // Deleted meanwhile, or the server is away: its `message.updated` brings the whole text.
    }
  }

  render() {
    const conversation = this.conversation;
    this.header = h("header", { class: "conversation-head" });
    this.list = h("ol", { class: "messages", "aria-label": "Messages" });
    this.earlier = button("Load earlier messages", () => this.loadEarlier(), { class: "secondary earlier" });
    this.scroller = h("div", { class: "scroller", role: "log", "aria-live": "polite", "aria-relevant": "additions" },
      this.earlier, this.list);
    this.footer = h("footer", { class: "composer-area" });
    replaceChildren(this.element, this.header, this.scroller, this.footer);
    this.element.dataset.conversation = conversation.id;
    this.renderHeader();
    for (const message of this.messages.ordered) this.show(message);
    this.renderFooter();
    this.earlier.hidden = !this.messages.hasMore;
  }

  /** Draw what depends on the caller's role again (it changed). */
  refreshPermissions() {
    if (!this.conversation) return;
    this.renderHeader();
    this.renderFooter();
    for (const message of this.messages.ordered) this.show(message, { force: true });
  }

  renderHeader() {
    const conversation = this.conversation;
    const canWrite = this.workspace.canWrite();
    replaceChildren(this.header,
      button("‹", () => this.workspace.back(), { class: "icon back", "aria-label": "Back to conversations" }),
      h("div", { class: "title" },
        h("h2", { id: "conversation-title" }, conversation.title || "Untitled conversation"),
        h("span", { class: "badge" }, conversation.modality)),
      canWrite && h("div", { class: "actions" },
        button("Rename", () => this.workspace.rename(this.conversation), { class: "secondary small" }),
        button("Delete", () => this.workspace.remove(this.conversation), { class: "secondary small danger-text" })));
    this.element.setAttribute("aria-labelledby", "conversation-title");
    document.title = `${conversation.title || "Untitled conversation"} · Threadline`;
  }

  renderFooter() {
    if (!this.workspace.canWrite()) {
      replaceChildren(this.footer, h("p", { class: "read-only", role: "note" },
        "You are a viewer in this workspace: you can read and follow along, but not post."));
      return;
    }
    const draft = this.footer.querySelector("textarea")?.value ?? "";  // kept when the role changes
    const input = h("textarea", { id: "composer-input", name: "content", rows: 1, required: true, maxlength: 100000,
      placeholder: "Write a message…", enterkeyhint: "send", value: draft });
    const form = h("form", { class: "composer", "aria-label": "New message" },
      h("label", { for: "composer-input", class: "visually-hidden" }, "Message"),
      input,
      h("button", { type: "submit", class: "primary" }, "Send"));
    let idempotencyKey = null;  // one per draft: a retry after a lost answer cannot post twice
    input.addEventListener("input", () => { idempotencyKey = null; autosize(input); });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const content = input.value;
      if (!content.trim()) return;
      idempotencyKey ??= randomKey();
      try {
        const message = await this.api.post(`/v1/conversations/${this.conversation.id}/messages`, { content },
          { "Idempotency-Key": idempotencyKey });
        if (input.value === content) {
          input.value = "";
          autosize(input);
        }
        idempotencyKey = null;
        if (message.conversation_id === this.conversationId) this.show(this.messages.put(message));
        this.scrollToEnd();
      } catch (error) {
        toast(`Not sent: ${error.message}`);
      }
    });
    replaceChildren(this.footer, form);
  }

  /** Add or redraw a message's row in `seq` order. While it streams only its text changes, so the stop
   * button keeps focus; a row being edited is left alone. */
  show(message, { force = false } = {}) {
    if (!this.list) return;
    const stick = this.nearEnd();
    const row = this.rows.get(message.id);
    if (row && !force && row.dataset.status === message.status && message.status === "streaming") {
      row.querySelector(".content").textContent = message.content;
    } else if (!row?.classList.contains("editing")) {
      const fresh = this.messageRow(message);
      if (row) row.replaceWith(fresh);
      else this.insertInOrder(fresh, message.seq);
      this.rows.set(message.id, fresh);
    }
    if (stick) this.scrollToEnd();
  }

  insertInOrder(row, seq) {
    const after = [...this.list.children].find((other) => Number(other.dataset.seq) > seq);
    this.list.insertBefore(row, after ?? null);
  }

  messageRow(message) {
    const author = this.workspace.authorName(message);
    const status = message.status ?? "complete";
    const mine = message.author_id === this.workspace.me.id;
    const canChange = this.workspace.canWrite() && (mine || this.workspace.isOwner()) && status !== "streaming";
    const edited = message.updated_at !== message.created_at && status === "complete" && message.role !== "assistant";
    return h("li", { class: "message", dataset: { id: message.id, seq: message.seq, status, role: message.role } },
      h("div", { class: "avatar", "aria-hidden": "true" }, initials(author)),
      h("div", { class: "bubble" },
        h("div", { class: "meta" },
          h("span", { class: "author" }, author),
          h("time", { datetime: message.created_at }, formatTime(message.created_at)),
          edited && h("span", { class: "muted" }, "(edited)"),
          message.role !== "user" && h("span", { class: "badge" }, message.role),
          STATUS_LABELS[status] && h("span", { class: `status status-${status}` }, STATUS_LABELS[status]),
          h("span", { class: "message-actions" },
          status === "streaming" && this.workspace.canWrite() &&
            button("■ Stop", () => this.stop(message), { class: "secondary small stop" }),
          canChange && button("Edit", () => this.edit(message), { class: "link", "aria-label": `Edit message from ${author}` }),
          canChange && button("Delete", () => this.delete(message), { class: "link danger-text", "aria-label": `Delete message from ${author}` }))),
        h("div", { class: "content" }, message.content)));
  }

  async stop(message) {
    try {
      const stopped = await this.api.post(`/v1/conversations/${message.conversation_id}/messages/${message.id}/cancel`);
      this.show(this.messages.put(stopped));
    } catch (error) {
      toast(`Could not stop the reply: ${error.message}`);
    }
  }

  edit(message) {
    const row = this.rows.get(message.id);
    const input = h("textarea", { id: `edit-${message.id}`, rows: 3, maxlength: 100000 });
    input.value = message.content;
    const done = () => {
      row.classList.remove("editing");
      this.show(this.messages.byId.get(message.id) ?? message, { force: true });
    };
    const form = h("form", { class: "edit-form" },
      h("label", { for: input.id, class: "visually-hidden" }, "Edit message"),
      input,
      h("div", { class: "dialog-actions" },
        button("Cancel", done, { class: "secondary small" }),
        h("button", { type: "submit", class: "primary small" }, "Save")));
    form.addEventListener("keydown", (event) => { if (event.key === "Escape") done(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        const saved = await this.api.patch(`/v1/conversations/${message.conversation_id}/messages/${message.id}`, { content: input.value });
        this.messages.put(saved);
        done();
      } catch (error) {
        toast(`Not saved: ${error.message}`);
      }
    });
    row.classList.add("editing");
    row.querySelector(".content").replaceWith(form);
    row.querySelector(".message-actions").hidden = true;
    input.focus();
  }

  async delete(message) {
    const confirmed = await confirmDialog({ title: "Delete this message?", message: "It is removed for everyone.", confirm: "Delete" });
    if (!confirmed) return;
    try {
      await this.api.delete(`/v1/conversations/${message.conversation_id}/messages/${message.id}`);
      this.apply({ type: "message.deleted", conversation_id: message.conversation_id, data: message });
    } catch (error) {
      toast(`Not deleted: ${error.message}`);
    }
  }

  async loadEarlier() {
    const conversationId = this.conversation.id;
    const query = { before: this.messages.oldestSeq, limit: PAGE_SIZE };
    try {
      await this.workspace.holdingEvents(async () => {
        const window = await this.api.get(`/v1/conversations/${conversationId}/messages`, query);
        if (this.conversation?.id !== conversationId) return;
        const height = this.scroller.scrollHeight;
        for (const message of window.items) this.show(this.messages.put(message));
        this.messages.hasMore = window.has_more;
        this.earlier.hidden = !window.has_more;
        this.scroller.scrollTop += this.scroller.scrollHeight - height;  // keep what was in view in place
      });
    } catch (error) {
      toast(`Could not load earlier messages: ${error.message}`);
    }
  }

  nearEnd() {
    const scroller = this.scroller;
    return !scroller || scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  }

  scrollToEnd() {
    if (this.scroller) this.scroller.scrollTop = this.scroller.scrollHeight;
  }
}

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((word) => word[0].toUpperCase()).join("") || "?";
}

/** 128 random bits as hex; unlike `crypto.randomUUID`, also where the page is not a secure context. */
function randomKey() {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 200)}px`;
}
