// GET /docs: this API's /openapi.json rendered by Swagger UI, which the build copies from
// npm (swagger-ui-dist, pinned in package-lock.json) into /docs/vendor/swagger-ui/.
// A file and not an inline script: the page's CSP allows scripts from this origin only.
window.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#reference",
    deepLinking: true,
    // Swagger UI would otherwise send the document to validator.swagger.io for a badge.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
