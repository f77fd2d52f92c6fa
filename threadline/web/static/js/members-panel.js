/** The members of the open workspace: the owner adds people by email, changes roles and removes them;
 * anyone else may leave. Kept up to date live while open. */

import { confirmDialog, panelDialog } from "./dialogs.js";
import { button, h, replaceChildren, toast } from "./dom.js";

const GRANTABLE_ROLES = ["editor", "viewer"];

export class MembersPanel {
  /** `shell` gives `api`, `me`, `workspace`, `members` (a Map by user id) and `leaveWorkspace()`. */
  constructor(shell) {
    this.shell = shell;
    this.list = h("ul", { class: "members", "aria-label": "Members" });
    this.footer = h("div", { class: "members-foot" });
    this.dialog = panelDialog(`Members of ${shell.workspace.name}`, this.list, this.footer);
    this.dialog.addEventListener("close", () => this.shell.membersClosed(this));
    this.refresh();
  }

  get path() {
    return `/v1/workspaces/${this.shell.workspace.id}/members`;
  }

  refresh() {
    const { me, workspace } = this.shell;
    const owner = workspace.role === "owner";
    const members = [...this.shell.members.values()].sort((a, b) => a.added_at.localeCompare(b.added_at));
    replaceChildren(this.list, members.map((member) => this.row(member, owner)));
    replaceChildren(this.footer,
      owner ? this.addForm() : button("Leave workspace", () => this.shell.leaveWorkspace(), { class: "secondary danger-text" }));
    if (!this.dialog.open) return;
    if (me && !this.shell.members.has(me.id)) this.dialog.close();
  }

  row(member, owner) {
    const label = member.name || member.email;
    const you = member.user_id === this.shell.me.id;
    const editable = owner && member.role !== "owner";
    const role = editable
      ? h("select", { "aria-label": `Role of ${label}`, onchange: (event) => this.changeRole(member, event.target.value) },
        GRANTABLE_ROLES.map((name) => h("option", { value: name, selected: name === member.role }, name)))
      : h("span", { class: "badge" }, member.role);
    return h("li", { class: "member", dataset: { userId: member.user_id } },
      h("div", { class: "who" },
        h("span", { class: "name" }, label, you && h("span", { class: "muted" }, " (you)")),
        h("span", { class: "muted small" }, member.email)),
      role,
      editable && button("Remove", () => this.remove(member), { class: "link danger-text", "aria-label": `Remove ${label}` }));
  }

  addForm() {
    const form = h("form", { class: "add-member", "aria-label": "Add a member" },
      h("div", { class: "field grow" },
        h("label", { for: "member-email" }, "Add by email"),
        h("input", { id: "member-email", name: "email", type: "email", required: true, maxlength: 254, placeholder: "name@example.com" })),
      h("div", { class: "field" },
        h("label", { for: "member-role" }, "Role"),
        h("select", { id: "member-role", name: "role" }, GRANTABLE_ROLES.map((name) => h("option", { value: name }, name)))),
      h("button", { type: "submit", class: "primary" }, "Add"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const { email, role } = Object.fromEntries(new FormData(form));
      try {
        this.shell.putMember(await this.shell.api.post(this.path, { email, role }));
        form.reset();
      } catch (error) {
        toast(error.status === 404 ? `No one has signed up as ${email}.` : `Not added: ${error.message}`);
      }
    });
    return form;
  }

  async changeRole(member, role) {
    try {
      this.shell.putMember(await this.shell.api.patch(`${this.path}/${member.user_id}`, { role }));
    } catch (error) {
      toast(`Role not changed: ${error.message}`);
      this.refresh();
    }
  }

  async remove(member) {
    const label = member.name || member.email;
    if (!await confirmDialog({ title: `Remove ${label}?`, message: "They lose access to this workspace at once.", confirm: "Remove" })) return;
    try {
      await this.shell.api.delete(`${this.path}/${member.user_id}`);
      this.shell.dropMember(member.user_id);
    } catch (error) {
      toast(`Not removed: ${error.message}`);
    }
  }
}
