// The export page's "Select all" toggle, bound here rather than by an inline handler
// (which the Content-Security-Policy blocks). onSelectToggleChange is import-export's.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".select-toggle").forEach((toggle) => {
    toggle.addEventListener("change", onSelectToggleChange);
  });
});
