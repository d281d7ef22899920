// Progressive enhancement only: every page works without this file.
// A <select data-autosubmit> (sort order, page size) submits its form when changed with
// a mouse or a finger, so those users need not press "Apply". A change made with the
// keyboard (arrow keys change a closed select at once) does not submit: a keyboard user
// moves through the options and presses "Apply", and the page does not jump under them.
(function () {
  "use strict";
  var byKeyboard = false;
  document.addEventListener("keydown", function () { byKeyboard = true; }, true);
  document.addEventListener("pointerdown", function () { byKeyboard = false; }, true);
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (byKeyboard || !(target instanceof HTMLSelectElement) || !target.hasAttribute("data-autosubmit") || !target.form) {
      return;
    }
    if (typeof target.form.requestSubmit === "function") {
      target.form.requestSubmit();
    } else {
      target.form.submit();
    }
  });
})();

// Wide year tables and charts (data-scroll-end) open scrolled to their latest years, the
// ones a reader most often wants; without JavaScript they open at the earliest.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  document.querySelectorAll("[data-scroll-end]").forEach(function (box) {
    box.scrollLeft = box.scrollWidth;
  });
});

// Shorter shareable URLs: a GET form leaves out its empty fields and the ones still at
// their default (data-default), so a filtered page reads ?field=ha-dr rather than
// ?q=&year=&field=ha-dr&page_size=25. Without JavaScript the longer URL means the same.
document.addEventListener("submit", function (event) {
  "use strict";
  var form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "get") {
    return;
  }
  Array.prototype.forEach.call(form.elements, function (el) {
    if (!el.name || el.disabled || el.type === "checkbox" || el.type === "radio" || el.type === "submit") {
      return;
    }
    var value = el.value;
    if (value === "" || (el.hasAttribute("data-default") && value === el.getAttribute("data-default"))) {
      el.disabled = true;
      el.setAttribute("data-left-out", "");
    }
  });
});

// Coming back with the Back button (page cache): give the left-out fields back.
window.addEventListener("pageshow", function () {
  "use strict";
  document.querySelectorAll("[data-left-out]").forEach(function (el) {
    el.disabled = false;
    el.removeAttribute("data-left-out");
  });
});
