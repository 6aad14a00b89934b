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

// Searchable choices (tags, segments, départements): Tom Select (npm), when it has loaded, turns
// each select[data-searchable] into a field that filters as one types and shows the chosen values
// as chips. The plain select stays underneath and is what the form sends; without the script it
// is all there is. data-create lets a new value (a new tag) be typed as well as picked.
const searchable = (root) => {
  if (typeof window.TomSelect !== "function") return;
  root.querySelectorAll("select[data-searchable]:not(.tomselected)").forEach((select) => {
    const text = select.dataset;
    // eslint-disable-next-line no-new
    new window.TomSelect(select, {
      plugins: { remove_button: { title: text.removeLabel || "×" } },
      create: select.hasAttribute("data-create"),
      persist: false,
      maxOptions: null,
      // Filter at each keystroke: the lists are in the page, and with the default delay an Enter
      // typed quickly picked the option shown before the filter, not the one typed.
      refreshThrottle: 0,
      closeAfterSelect: true,
      // The list opens on a click, on typing or on ArrowDown, not on focus alone: a focus event
      // that comes late (a window that was in the background) would open it over the buttons
      // under the field, and a tap meant for them would pick a tag instead.
      openOnFocus: false,
      onInitialize() {
        this.control.addEventListener("click", () => { if (this.isFocused) this.open(); });
      },
      // Closed after each value, picked or typed, so that it never covers the buttons under the
      // field (a microtask: Tom Select reopens it as it finishes adding); typing opens it again.
      onItemAdd() { queueMicrotask(() => this.close()); },
      render: {
        no_results: () => `<div class="no-results">${escapeHtml(text.noResults || "")}</div>`,
        option_create: (data, escape) =>
          `<div class="create">${escapeHtml(text.addLabel || "+")} <strong>${escape(data.input)}</strong></div>`,
      },
    });
    // The select stays for the form only (out of the tab order): its label now names the
    // searchable field, and assistive technologies are given that field alone.
    select.setAttribute("aria-hidden", "true");
  });
};
const escapeHtml = (value) =>
  value.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
searchable(document);

// A confirmation that htmx brings whole (includes/confirm.html with `opens`) opens as it lands,
// and leaves the page once closed.
document.addEventListener("htmx:afterSettle", (event) => {
  searchable(event.target);
  event.target.querySelectorAll("dialog[data-confirm-dialog]").forEach((dialog) => {
    dialog.addEventListener("close", () => dialog.remove());
    openDialog(dialog);
  });
});

// The contact list: a box that ticks the whole page (it exists for the script only), and the
// number of rows ticked beside "les contacts cochés".
const countTicked = () => {
  const ticked = document.querySelectorAll("input[type=checkbox][name=ids]:checked").length;
  document.querySelectorAll("[data-checked-count]").forEach((output) => {
    output.hidden = ticked === 0;
    output.textContent = ticked === 0 ? "" : `(${ticked})`;
  });
};
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-check-all]");
  if (all) {
    document.querySelectorAll(`input[type=checkbox][name="${all.dataset.checkAll}"]`).forEach((box) => {
      box.checked = all.checked;
    });
  }
  if (all || event.target.matches("input[type=checkbox][name=ids]")) countTicked();
});
document.querySelectorAll("[data-check-all]").forEach((box) => { box.hidden = false; });

// Live regions that poll (watch/_news_region.html, data-poll-visible): no request while the
// tab is hidden — nobody reads it, and a forgotten tab would ask all day — and one as soon as
// it shows again. A filter in hx-trigger would need htmx's eval, which our CSP forbids.
document.addEventListener("htmx:beforeRequest", (event) => {
  if (document.visibilityState !== "visible" && event.detail.elt.hasAttribute("data-poll-visible")) {
    event.preventDefault();
  }
});
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || typeof window.htmx === "undefined") return;
  document.querySelectorAll("[data-poll-visible]").forEach((region) => window.htmx.trigger(region, "essaim:visible"));
});
// A list shown again by its banner's link (data-live-show) takes the focus: the link that had
// it is gone with the banner.
// (The link is the request's element: htmx sets detail.elt to each element it settles.)
document.addEventListener("htmx:afterSettle", (event) => {
  const shown = event.detail.requestConfig && event.detail.requestConfig.elt;
  if (!shown || !shown.dataset || !shown.dataset.liveShow) return;
  const list = document.getElementById(shown.dataset.liveShow);
  if (list) list.focus();
});
