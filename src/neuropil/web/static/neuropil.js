// Progressive enhancement only: every page reads and works without this script.
"use strict";

// Copy buttons: shown only when the clipboard API is there.
function setUpCopyButtons() {
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll("button.copy[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const label = button.textContent;
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        button.textContent = "Copied";
      } catch (err) {
        button.textContent = "Copy failed";
      }
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }
}

// The JSON editor: say whether the text parses while typing; refuse to send broken JSON.
function setUpJsonEditors() {
  for (const editor of document.querySelectorAll("textarea[data-json-editor]")) {
    const status = document.getElementById("json-status");
    const check = () => {
      try {
        const value = JSON.parse(editor.value || "{}");
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          throw new Error("the editor must hold a JSON object ({...})");
        }
        if (status) { status.textContent = "Valid JSON"; status.className = "json-status ok"; }
        editor.setCustomValidity("");
        return true;
      } catch (err) {
        const message = "Not valid JSON: " + err.message;
        if (status) { status.textContent = message; status.className = "json-status bad"; }
        editor.setCustomValidity(message);
        return false;
      }
    };
    editor.addEventListener("input", check);
    editor.addEventListener("blur", () => {
      if (check()) editor.value = JSON.stringify(JSON.parse(editor.value || "{}"), null, 2);
    });
    check();
  }
}

// Old DANDI links put the route after a hash (/#/dandiset/000001/draft): follow them.
if (location.hash.startsWith("#/dandiset/")) {
  location.replace(location.pathname.replace(/\/$/, "") + location.hash.slice(1));
}

document.addEventListener("DOMContentLoaded", () => {
  setUpCopyButtons();
  setUpJsonEditors();
});
