/* mailer: the signup form embedded in another site (docs/EMBED.md). No dependencies, no cookies.
 *
 * For every <form data-mailer-token="…">: fetch a signed form token when the page loads and put it
 * in the form. With data-mailer-thanks="inline" the form is sent with fetch() and the answer shown
 * in place; otherwise the browser posts it and mailer redirects to the thank-you page.
 */
(function () {
  "use strict";

  function setUp(form) {
    var tokenField = form.querySelector("input[name=form_token]");
    var status = form.querySelector("[data-mailer-status]");
    var button = form.querySelector("button[type=submit]");

    function say(text, isError) {
      status.textContent = text;
      status.className = isError ? "mailer-error" : "mailer-thanks";
    }

    var ready = fetch(form.getAttribute("data-mailer-token"), {credentials: "omit", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("token " + response.status); }
        return response.json();
      })
      .then(function (data) { tokenField.value = data.token; })
      .catch(function () { say(form.getAttribute("data-mailer-unavailable"), true); });

    if (form.getAttribute("data-mailer-thanks") !== "inline") { return; }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      ready
        .then(function () {
          return fetch(form.action, {method: "POST", body: new FormData(form), credentials: "omit",
                                     headers: {Accept: "application/json"}});
        })
        .then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (response.ok && data.message) {
              Array.prototype.forEach.call(form.children, function (child) {
                if (child !== status) { child.hidden = true; }
              });
              say(data.message, false);
              status.setAttribute("tabindex", "-1");
              status.focus();
            } else {
              say((data.errors || [form.getAttribute("data-mailer-failed")]).join(" "), true);
              button.disabled = false;
            }
          });
        })
        .catch(function () {
          say(form.getAttribute("data-mailer-failed"), true);
          button.disabled = false;
        });
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form[data-mailer-token]"), setUp);
}());
