// Essaim's own script: small progressive enhancements only; every page works without it.
document.documentElement.classList.add("js");
// A confirmation dialog (includes/confirm.html) opens modal, focus on "Annuler": the safe
// choice is the one a stray Enter takes. Once closed, the browser gives the focus back to the
// link that opened it.
const openDialog = (dialog) => {
  if (dialog.open || typeof dialog.showModal !== "function") return;
  dialog.showModal();
  const cancel = dialog.querySelector("[data-dialog-close]");
  if (cancel) cancel.focus();
};
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) event.preventDefault();
  // A link to a confirmation page opens its dialog instead; one with hx-get has htmx fetch
  // the dialog's content first (the htmx:afterSwap listener below opens it).
  const opener = event.target.closest("[data-dialog-open]");
  if (opener && !opener.hasAttribute("hx-get")) {
    const dialog = document.getElementById(opener.dataset.dialogOpen);
    if (dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      openDialog(dialog);
    }
  }
  const closer = event.target.closest("[data-dialog-close]");
  if (closer && closer.closest("dialog")) {
    event.preventDefault();
    closer.closest("dialog").close();
  }
  if (event.target.closest("[data-history-back]")) window.history.back();
  const menu = event.target.closest("[data-menu-button]");
  if (menu) {
    const open = menu.getAttribute("aria-expanded") !== "true";
    menu.setAttribute("aria-expanded", String(open));
    document.getElementById(menu.getAttribute("aria-controls")).classList.toggle("is-open", open);
  }
});
// The error pages' "back" button: shown only when this tab has a page to go back to.
if (window.history.length > 1) {
  document.querySelectorAll("[data-history-back]").forEach((button) => { button.hidden = false; });
}
// The menu button exists for the script: without it the menu simply stays unfolded.
document.querySelectorAll("[data-menu-button]").forEach((button) => { button.hidden = false; });
// Escape closes the phone menu and gives the focus back to its button.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const menu = document.querySelector("[data-menu-button][aria-expanded='true']");
  if (menu) { menu.click(); menu.focus(); }
});
// A table wider than the screen scrolls in its frame: the frame then takes the keyboard focus,
// so that it can be scrolled without a mouse.
const markScrollableTables = () => {
  document.querySelectorAll(".table-wrap").forEach((wrap) => {
    if (wrap.scrollWidth > wrap.clientWidth) wrap.tabIndex = 0;
    else wrap.removeAttribute("tabindex");
  });
};
markScrollableTables();
window.addEventListener("resize", markScrollableTables);
document.addEventListener("htmx:afterSettle", markScrollableTables);
// A dialog htmx just filled (a lazy includes/confirm.html) opens once its content is in.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.tagName === "DIALOG") openDialog(event.detail.target);
});
