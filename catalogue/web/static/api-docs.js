// Swagger UI over /api/openapi.json, from the assets of the flask-swagger-ui package (no CDN).
// Without JavaScript the server-rendered reference below it stays.
(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof SwaggerUIBundle !== "function") return;
  SwaggerUIBundle({
    url: root.dataset.spec,
    domNode: root,
    deepLinking: true,
    validatorUrl: null,  // no calls to the public validator
    defaultModelsExpandDepth: 0,
  });
  document.getElementById("reference").hidden = true;
})();
