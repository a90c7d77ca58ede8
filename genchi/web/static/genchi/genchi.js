// Small progressive enhancements; no inline script anywhere (strict CSP).
document.addEventListener("DOMContentLoaded", function () {
  // Forms with data-confirm ask before submitting (e.g. resetting a second factor).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  // A city select follows its prefecture select: only the chosen prefecture's cities
  // (the list of every prefecture's cities is in the page, no request is made).
  document.querySelectorAll("select[data-follows][data-cities]").forEach(function (city) {
    var pref = document.getElementById(city.getAttribute("data-follows"));
    var map = document.getElementById(city.getAttribute("data-cities"));
    if (!pref || !map) return;
    var citiesByPref = JSON.parse(map.textContent);
    var everyone = city.options[0] ? city.options[0].textContent : "";
    function option(value, label) {
      var o = document.createElement("option");
      o.value = value;
      o.textContent = label;
      return o;
    }
    pref.addEventListener("change", function () {
      city.replaceChildren(option("", everyone));
      (citiesByPref[pref.value] || []).forEach(function (c) { city.appendChild(option(c, c)); });
    });
  });
});
document.body && document.body.addEventListener("htmx:configRequest", function (event) {
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (token) event.detail.headers["X-CSRFToken"] = token.value;
});
