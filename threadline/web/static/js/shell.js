/** The signed-in app: the workspaces and their conversations in the sidebar, the open conversation, the
 * live stream that keeps them all current, and the hash route (`#/w/<workspace>/c/<conversation>`). */

import { Api } from "./api.js";
import { ConversationView } from "./conversation-view.js";
import { confirmDialog, formDialog } from "./dialogs.js";
import { button, byLastActive, formatTime, h, replaceChildren, toast } from "./dom.js";
import { LiveStream } from "./live.js";
import { MembersPanel } from "./members-panel.js";
import { clearSession } from "./session.js";

const MODALITIES = ["chat", "voice", "video"];
const FAILED = Symbol("failed");
const CONNECTION_LABELS = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

export class Shell {
  constructor(root, session, { onSignOut }) {
    this.root = root;
    this.me = session.user;
    this.onSignOut = onSignOut;
    this.api = new Api(session.accessToken, { onSignedOut: () => this.signOut("Your session has ended: sign in again.") });
    this.workspaces = new Map();
    this.workspace = null;
    this.conversations = new Map();
    this.members = new Map();
    this.reads = 0;  // REST reads in flight: live events wait for them (see holdingEvents)
    this.held = [];
    this.openConversationId = null;  // as the route says, while the view may still be loading it
    this.membersPanel = null;
    this.conversationView = new ConversationView(this);
    this.live = new LiveStream(this.api, {
      onEvent: (event) => this.apply(event),
      onReset: () => this.reload(),
      onRevoked: () => this.signOut("Your access has ended: sign in again."),
      onStatus: (status) => this.showConnection(status),
    });
    this.onHashChange = () => this.route();
    this.expiry = setTimeout(() => this.signOut("Your session has expired: sign in again."), session.expiresAt - Date.now());
  }

  async start() {
    this.renderFrame();
    window.addEventListener("hashchange", this.onHashChange);
    await this.live.start();  // from here on every change is heard, so what is read next stays current
    await this.reload();
  }

  signOut(notice = null) {
    if (this.signedOut) return;
    this.signedOut = true;
    this.live.stop();
    clearTimeout(this.expiry);
    window.removeEventListener("hashchange", this.onHashChange);
    for (const dialog of document.querySelectorAll("dialog")) dialog.close();
    clearSession();
    this.onSignOut(notice);
  }

  // --- what the conversation view asks of its workspace

  canWrite() {
    return Boolean(this.workspace) && this.workspace.role !== "viewer";
  }

  isOwner() {
    return this.workspace?.role === "owner";
  }

  authorName(message) {
    const member = this.members.get(message.author_id);
    if (member) return member.name || member.email;
    return message.role === "user" ? "Former member" : message.role[0].toUpperCase() + message.role.slice(1);
  }

  back() {
    this.navigate(this.workspace?.id);
  }

  // --- loading and routing

  /** Read everything shown again: at the start, and when the stream cannot resume (`reset`). */
  async reload() {
    try {
      const workspaces = await this.holdingEvents(() => this.api.all("/v1/workspaces"));
      this.workspaces = new Map(workspaces.map((workspace) => [workspace.id, workspace]));
    } catch (error) {
      toast(`Could not load your workspaces: ${error.message}`);
      return;
    }
    this.workspace = null;
    await this.route({ reloading: true });
  }

  /** Run a REST read with the live events held back, then apply them in order. Each event carries its
   * resource as it is after the change, so what is shown ends as the log says, however the read and the
   * events interleave. */
  async holdingEvents(read) {
    this.reads += 1;
    try {
      return await read();
    } finally {
      this.reads -= 1;
      if (!this.reads) {
        const held = this.held;
        this.held = [];
        for (const event of held) this.apply(event);
      }
    }
  }

  navigate(workspaceId = null, conversationId = null) {
    const hash = workspaceId ? `#/w/${workspaceId}${conversationId ? `/c/${conversationId}` : ""}` : "#/";
    if (location.hash === hash) this.route();
    else location.hash = hash;
  }

  async route({ reloading = false } = {}) {
    const [, workspaceId = null, conversationId = null] =
      location.hash.match(/^#\/w\/([\w-]+)(?:\/c\/([\w-]+))?/) ?? [];
    const chosen = this.workspaces.has(workspaceId) ? workspaceId : [...this.workspaces.keys()][0] ?? null;
    if (workspaceId && chosen !== workspaceId) toast("That workspace is not one of yours.");
    if (chosen !== workspaceId) history.replaceState(null, "", chosen ? `#/w/${chosen}` : "#/");
    if (chosen !== this.workspace?.id) await this.selectWorkspace(chosen);
    const open = chosen === workspaceId ? conversationId : null;
    this.openConversationId = open;
    this.renderSidebar();
    this.frame.dataset.pane = open ? "conversation" : "list";
    if (!open || reloading) this.conversationView.close();
    if (open) await this.conversationView.open(open);
    if (!this.workspace) this.showNoWorkspace();
  }

  /** Make a workspace current and read its conversations and members. */
  async selectWorkspace(workspaceId) {
    this.membersPanel?.dialog.close();
    this.workspace = workspaceId ? this.workspaces.get(workspaceId) : null;
    this.conversations = new Map();
    this.members = new Map();
    if (!this.workspace) return;
    await this.holdingEvents(async () => {
      try {
        const [conversations, members] = await Promise.all([
          this.api.all(`/v1/workspaces/${workspaceId}/conversations`),
          this.api.all(`/v1/workspaces/${workspaceId}/members`)]);
        if (this.workspace?.id !== workspaceId) return;
        this.conversations = new Map(conversations.map((conversation) => [conversation.id, conversation]));
        this.members = new Map(members.map((member) => [member.user_id, member]));
      } catch (error) {
        toast(`Could not load ${this.workspace.name}: ${error.message}`);
      }
    });
  }

  // --- live events

  apply(event) {
    if (this.reads) {
      this.held.push(event);
      return;
    }
    const [kind] = event.type.split(".");
    if (kind === "member" && event.data.user_id === this.me.id) {
      this.applyOwnMembership(event);
      return;
    }
    if (kind === "workspace") {
      this.applyWorkspace(event);
      return;
    }
    if (event.workspace_id !== this.workspace?.id) return;
    if (kind === "member") this.applyMember(event);
    else if (kind === "conversation") this.applyConversation(event);
    else this.applyMessage(event);
  }

  applyWorkspace({ type, data }) {
    if (!this.workspaces.has(data.id)) return;
    if (type === "workspace.deleted") {
      this.forgetWorkspace(data.id, `${data.name} was deleted.`);
      return;
    }
    const workspace = { ...this.workspaces.get(data.id), ...data, role: this.workspaces.get(data.id).role };
    this.workspaces.set(data.id, workspace);
    if (this.workspace?.id === data.id) this.workspace = workspace;
    this.renderSidebar();
  }

  async applyOwnMembership({ type, data, workspace_id: workspaceId }) {
    if (type === "member.removed") {
      const name = this.workspaces.get(workspaceId)?.name ?? "a workspace";
      this.forgetWorkspace(workspaceId, `You are no longer a member of ${name}.`);
      return;
    }
    if (type === "member.added") {
      try {
        const workspace = await this.holdingEvents(() => this.api.get(`/v1/workspaces/${workspaceId}`));
        this.workspaces.set(workspace.id, workspace);
        if (!this.workspace) await this.route();
        else this.renderSidebar();
      } catch {
        // Removed again meanwhile: its member.removed follows.
      }
      return;
    }
    const workspace = this.workspaces.get(workspaceId);
    if (!workspace) return;
    workspace.role = data.role;
    if (this.workspace?.id === workspaceId) {
      this.putMember(data);
      this.renderSidebar();
      this.conversationView.refreshPermissions();
    }
  }

  forgetWorkspace(workspaceId, notice) {
    if (!this.workspaces.delete(workspaceId)) return;
    if (this.workspace?.id === workspaceId) {
      toast(notice);
      this.workspace = null;
      this.navigate(null);
    } else {
      this.renderSidebar();
    }
  }

  applyMember({ type, data }) {
    if (type === "member.removed") this.dropMember(data.user_id);
    else this.putMember(data);
  }

  putMember(member) {
    this.members.set(member.user_id, member);
    this.membersPanel?.refresh();
  }

  dropMember(userId) {
    this.members.delete(userId);
    this.membersPanel?.refresh();
  }

  applyConversation(event) {
    const conversation = event.data;
    if (event.type === "conversation.deleted") {
      this.conversations.delete(conversation.id);
      if (this.conversationView.conversationId === conversation.id) {
        toast(`“${conversation.title || "Untitled conversation"}” was deleted.`);
        this.navigate(this.workspace.id);
      }
    } else {
      this.conversations.set(conversation.id, conversation);
      this.conversationView.apply(event);
    }
    this.renderConversations();
  }

  /** Messages move their conversation to the top of the list, and the open one shows them. */
  applyMessage(event) {
    const conversation = this.conversations.get(event.conversation_id);
    if (conversation && event.type !== "message.delta") {
      const counted = { "message.created": 1, "message.deleted": -1 }[event.type] ?? 0;
      this.conversations.set(conversation.id, {
        ...conversation, last_active_at: event.created_at, message_count: conversation.message_count + counted });
      this.renderConversations();
    }
    this.conversationView.apply(event);
  }

  // --- drawing

  renderFrame() {
    this.connection = h("span", { class: "connection", role: "status", dataset: { state: "connecting" } }, CONNECTION_LABELS.connecting);
    this.workspaceList = h("ul", { class: "workspace-list" });
    this.workspaceSection = h("section", { class: "current-workspace", "aria-labelledby": "workspace-title" });
    this.frame = h("div", { class: "shell", dataset: { pane: "list" } },
      h("header", { class: "topbar" },
        // Not a plain #main link: the hash is the route.
        h("a", { class: "skip-link", href: "#main", onclick: (event) => { event.preventDefault(); this.conversationView.element.focus(); } }, "Skip to conversation"),
        h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }), "Threadline"),
        this.connection,
        h("span", { class: "user", title: this.me.email }, this.me.name || this.me.email),
        button("Sign out", () => this.signOut(), { class: "secondary small" })),
      h("nav", { class: "sidebar", "aria-label": "Workspaces and conversations" },
        h("section", { class: "workspaces", "aria-labelledby": "workspaces-title" },
          h("div", { class: "section-head" },
            h("h2", { id: "workspaces-title" }, "Workspaces"),
            button("+ New workspace", () => this.createWorkspace(), { class: "secondary small" })),
          this.workspaceList),
        this.workspaceSection),
      this.conversationView.element);
    replaceChildren(this.root, this.frame);
  }

  showConnection(status) {
    this.connection.dataset.state = status;
    this.connection.textContent = CONNECTION_LABELS[status];
  }

  renderSidebar() {
    if (!this.frame) return;
    replaceChildren(this.workspaceList, [...this.workspaces.values()].map((workspace) =>
      h("li", {}, h("a", {
        href: `#/w/${workspace.id}`,
        "aria-current": workspace.id === this.workspace?.id ? "page" : null,
      }, h("span", { class: "name" }, workspace.name), h("span", { class: "role" }, workspace.role)))));
    if (!this.workspaces.size) this.workspaceList.append(h("li", { class: "muted small" }, "No workspaces yet."));
    this.renderWorkspaceSection();
  }

  renderWorkspaceSection() {
    const workspace = this.workspace;
    if (!workspace) {
      replaceChildren(this.workspaceSection);
      return;
    }
    const owner = this.isOwner();
    this.conversationList = h("ul", { class: "conversation-list", "aria-label": "Conversations" });
    replaceChildren(this.workspaceSection,
      h("div", { class: "workspace-head" },
        h("h2", { id: "workspace-title" }, workspace.name),
        h("span", { class: `badge role-${workspace.role}` }, workspace.role)),
      h("div", { class: "toolbar" },
        button("Members", () => this.openMembers(), { class: "secondary small" }),
        owner && button("Rename", () => this.renameWorkspace(), { class: "secondary small" }),
        owner
          ? button("Delete", () => this.deleteWorkspace(), { class: "secondary small danger-text" })
          : button("Leave", () => this.leaveWorkspace(), { class: "secondary small danger-text" })),
      this.canWrite() && button("+ New conversation", () => this.createConversation(), { class: "primary wide" }),
      this.conversationList);
    this.renderConversations();
  }

  renderConversations() {
    if (!this.conversationList) return;
    const open = this.openConversationId;
    const conversations = [...this.conversations.values()].sort(byLastActive);
    replaceChildren(this.conversationList, conversations.map((conversation) =>
      h("li", {}, h("a", {
        href: `#/w/${conversation.workspace_id}/c/${conversation.id}`,
        "aria-current": conversation.id === open ? "page" : null,
        dataset: { conversationId: conversation.id },
      },
      h("span", { class: "name" }, conversation.title || "Untitled conversation"),
      h("span", { class: "detail" },
        h("span", { class: "badge" }, conversation.modality),
        h("time", { datetime: conversation.last_active_at }, formatTime(conversation.last_active_at)))))));
    if (!conversations.length) this.conversationList.append(h("li", { class: "muted small" }, "No conversations yet."));
  }

  showNoWorkspace() {
    replaceChildren(this.conversationView.element,
      h("div", { class: "empty" },
        h("h2", {}, "Welcome to Threadline"),
        h("p", { class: "muted" }, "A workspace holds conversations you share with others."),
        button("Create your first workspace", () => this.createWorkspace(), { class: "primary" })));
  }

  // --- actions

  /** The action's answer, or FAILED once the person has been told why. */
  async attempt(what, action) {
    try {
      return await action();
    } catch (error) {
      toast(`${what}: ${error.message}`);
      return FAILED;
    }
  }

  async createWorkspace() {
    const values = await formDialog({ title: "New workspace", submit: "Create",
      fields: [{ name: "name", label: "Name", required: true, maxlength: 100 }] });
    if (!values) return;
    const workspace = await this.attempt("Not created", () => this.api.post("/v1/workspaces", values));
    if (workspace === FAILED) return;
    this.workspaces.set(workspace.id, workspace);
    this.navigate(workspace.id);
  }

  async renameWorkspace() {
    const workspace = this.workspace;
    const values = await formDialog({ title: "Rename workspace", submit: "Save",
      fields: [{ name: "name", label: "Name", value: workspace.name, required: true, maxlength: 100 }] });
    if (!values) return;
    const renamed = await this.attempt("Not renamed", () => this.api.patch(`/v1/workspaces/${workspace.id}`, values));
    if (renamed !== FAILED) this.applyWorkspace({ type: "workspace.updated", data: renamed });
  }

  async deleteWorkspace() {
    const workspace = this.workspace;
    const confirmed = await confirmDialog({ title: `Delete ${workspace.name}?`,
      message: "Its conversations and messages are deleted for everyone. This cannot be undone.", confirm: "Delete workspace" });
    if (!confirmed) return;
    if (await this.attempt("Not deleted", () => this.api.delete(`/v1/workspaces/${workspace.id}`)) === FAILED) return;
    this.forgetWorkspace(workspace.id, `${workspace.name} was deleted.`);
  }

  async leaveWorkspace() {
    const workspace = this.workspace;
    const confirmed = await confirmDialog({ title: `Leave ${workspace.name}?`,
      message: "You lose access until an owner adds you again.", confirm: "Leave" });
    if (!confirmed) return;
    if (await this.attempt("Could not leave", () => this.api.delete(`/v1/workspaces/${workspace.id}/members/${this.me.id}`)) === FAILED) return;
    this.forgetWorkspace(workspace.id, `You left ${workspace.name}.`);
  }

  openMembers() {
    this.membersPanel ??= new MembersPanel(this);
  }

  membersClosed(panel) {
    if (this.membersPanel === panel) this.membersPanel = null;
  }

  async createConversation() {
    const workspaceId = this.workspace.id;
    const values = await formDialog({ title: "New conversation", submit: "Create", fields: [
      { name: "title", label: "Title", maxlength: 200 },
      { name: "modality", label: "Modality", value: "chat", options: MODALITIES }] });
    if (!values) return;
    const conversation = await this.attempt("Not created",
      () => this.api.post(`/v1/workspaces/${workspaceId}/conversations`, values));
    if (conversation === FAILED) return;
    if (this.workspace?.id === workspaceId) this.conversations.set(conversation.id, conversation);
    this.navigate(workspaceId, conversation.id);
  }

  async rename(conversation) {
    const values = await formDialog({ title: "Rename conversation", submit: "Save",
      fields: [{ name: "title", label: "Title", value: conversation.title, maxlength: 200 }] });
    if (!values) return;
    const renamed = await this.attempt("Not renamed", () => this.api.patch(`/v1/conversations/${conversation.id}`, values));
    if (renamed !== FAILED) this.applyConversation({ type: "conversation.updated", data: renamed });
  }

  async remove(conversation) {
    const confirmed = await confirmDialog({ title: "Delete this conversation?",
      message: "Its messages are deleted for everyone. This cannot be undone.", confirm: "Delete conversation" });
    if (!confirmed) return;
    if (await this.attempt("Not deleted", () => this.api.delete(`/v1/conversations/${conversation.id}`)) === FAILED) return;
    this.applyConversation({ type: "conversation.deleted", data: conversation });
  }
}
