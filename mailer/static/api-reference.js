// Render the API reference with the vendored Swagger UI (a file, so the strict CSP holds: no inline script).
document.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("api-reference");
  if (!element || typeof SwaggerUIBundle !== "function") {
    return;
  }
  SwaggerUIBundle({
    url: element.dataset.specUrl,
    domNode: element,
    deepLinking: false,
    tryItOutEnabled: false,
    supportedSubmitMethods: ["get"],
  });
});
