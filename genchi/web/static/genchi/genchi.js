// Small progressive enhancements; no inline script anywhere (strict CSP).
document.addEventListener("DOMContentLoaded", function () {
  // Forms with data-confirm ask before submitting (e.g. resetting a second factor).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
});
document.body && document.body.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) event.detail.headers["X-CSRFToken"] = token.value;
});
