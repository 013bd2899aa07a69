// The dialogs: start a chat (1:1 or group), add people to a group, edit a message.

const $ = (id) => document.getElementById(id);

export function wireDialogs({ messenger: current, open, openId: currentId }) {
  for (const dialog of document.querySelectorAll("dialog")) {
    for (const close of dialog.querySelectorAll("[data-close]")) {
      close.addEventListener("click", () => dialog.close());
    }
  }
  const newChat = $("new-chat-dialog");
  const kindChanged = () => {
    const group = newChat.querySelector('input[name="kind"]:checked').value === "group";
    $("group-name-field").hidden = !group;
    newChat.querySelector('label[for="new-chat-members"]').textContent = group ? "User names" : "User name";
  };
  for (const radio of newChat.querySelectorAll('input[name="kind"]')) radio.addEventListener("change", kindChanged);
  $("new-chat").addEventListener("click", () => {
    $("new-chat-form").reset();
    $("new-chat-error").textContent = "";
    kindChanged();
    newChat.showModal();
    $("new-chat-members").focus();
  });
  $("new-chat-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const kind = newChat.querySelector('input[name="kind"]:checked').value;
    const members = names($("new-chat-members").value);
    const error = $("new-chat-error");
    if (members.length === 0) {
      error.textContent = "Enter a user name.";
      return;
    }
    if (kind === "direct" && members.length !== 1) {
      error.textContent = "A one-to-one chat is with exactly one person.";
      return;
    }
    try {
      const conversation = await current().create(kind, members, $("group-name").value.trim());
      newChat.close();
      open(conversation.id);
    } catch (e) {
      error.textContent = e.detail ?? String(e);
    }
  });

  const addMember = $("add-member-dialog");
  $("add-member").addEventListener("click", () => {
    $("add-member-form").reset();
    $("add-member-error").textContent = "";
    addMember.showModal();
    $("add-member-name").focus();
  });
  $("add-member-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const users = names($("add-member-name").value);
    const error = $("add-member-error");
    if (users.length === 0) {
      error.textContent = "Enter a user name.";
      return;
    }
    try {
      for (const user of users) await current().addMember(currentId(), user);
      addMember.close();
      $("composer-text").focus();
    } catch (e) {
      error.textContent = e.detail ?? String(e);
    }
  });

  $("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const dialog = $("edit-dialog");
    const text = $("edit-text").value.trim();
    if (!text) return;
    try {
      await current().edit(currentId(), Number(dialog.dataset.seq), text);
      dialog.close();
    } catch (e) {
      $("edit-error").textContent = e.code === "unsupported" ? `${e.detail}.` : e.detail ?? String(e);
    }
  });
}

function names(text) {
  return text
    .split(/[,\s]+/)
    .map((name) => name.trim().replace(/^@/, ""))
    .filter(Boolean);
}
