// Essaim's own script: small progressive enhancements only; every page works without it.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) event.preventDefault();
  if (event.target.closest("[data-history-back]")) window.history.back();
});
// The error pages' "back" button: shown only when this tab has a page to go back to.
if (window.history.length > 1) {
  document.querySelectorAll("[data-history-back]").forEach((button) => { button.hidden = false; });
}
