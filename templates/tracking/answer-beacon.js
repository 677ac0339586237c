// The hosted answer page tells the server that a person is reading it, so her
// answer counts at once instead of after the ~30 s that link scanners are given.
//
// Only a trusted pointer, touch, wheel or key event (event.isTrusted) on the
// visible, focused page counts. Being visible and focused for a while does not:
// a headless browser that merely loads the page, as some link scanners do, is
// visible and focused too (Chromium reports both), but produces no input. A
// person who never touches the page keeps the 30 s rule.
//
// Included inline at the end of answer.html, so the listeners are on before the
// page is first painted and no second request delays them.
(function () {
  "use strict";
  var form = document.querySelector("form[data-beacon]");
  var token = form && form.elements.form_token ? form.elements.form_token.value : "";
  if (!form || !token) {
    return;
  }
  var url = form.getAttribute("data-beacon");
  var kinds = ["pointerdown", "pointermove", "touchstart", "wheel", "keydown"];
  var sent = false;

  function post() {
    var body = new URLSearchParams({ form_token: token });
    if (navigator.sendBeacon && navigator.sendBeacon(url, body)) {
      return;
    }
    fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit" })
      .catch(function () {});  // the 30 s rule still confirms the answer
  }

  function onInput(event) {
    if (sent || !event.isTrusted) {
      return;
    }
    if (document.visibilityState !== "visible" || !document.hasFocus()) {
      return;
    }
    sent = true;
    kinds.forEach(function (kind) {
      window.removeEventListener(kind, onInput, true);
    });
    post();
  }

  kinds.forEach(function (kind) {
    window.addEventListener(kind, onInput, { capture: true, passive: true });
  });
})();
