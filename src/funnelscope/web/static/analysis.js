/* Generic analysis pages: submit only the fields that hold a value, so the page's URL is the
   query string of /api/<route> (an empty field means "not given" either way). */
(function () {
  "use strict";
  var form = document.getElementById("analysis-form");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    form.querySelectorAll("input, select").forEach(function (el) {
      if (el.name && el.value === "") { el.disabled = true; }
    });
    window.setTimeout(function () {  /* back/forward cache: the fields work again */
      form.querySelectorAll("input, select").forEach(function (el) { el.disabled = false; });
    }, 0);
  });
})();
