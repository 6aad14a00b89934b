// Starts swagger-ui on /api/docs. A static file, not an inline script: the site's CSP is
// `script-src 'self'`. The settings come from the JSON block the page renders.
"use strict";
(function () {
  var config = JSON.parse(document.getElementById("swagger-config").textContent);
  config.presets = [window.SwaggerUIBundle.presets.apis];
  window.ui = window.SwaggerUIBundle(config);
})();
