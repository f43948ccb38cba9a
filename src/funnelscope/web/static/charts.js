/* Draw every server-rendered figure: <script type="application/json" class="figure-data"
   data-target="ID">{plotly figure}</script> -> Plotly.newPlot(ID, ...). */
(function () {
  "use strict";
  var config = {displaylogo: false, responsive: true, showLink: false};
  window.fsPlot = function (target, fig) {
    return Plotly.react(target, fig.data, fig.layout, config);
  };
  document.querySelectorAll("script.figure-data").forEach(function (el) {
    window.fsPlot(el.getAttribute("data-target"), JSON.parse(el.textContent));
  });
})();
