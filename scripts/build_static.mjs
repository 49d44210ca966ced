// Build OneWindow's front-end assets (run with `npm ci && npm run build`; the Makefile does both).
//
//   onewindow/web/assets/scss/onewindow.scss  --sass-->  onewindow/web/static/dist/onewindow.css
//   govuk-frontend's ES module bundle and htmx         --copy-->  onewindow/web/static/vendor/
//
// Both output folders are git-ignored. Nothing here reaches the network: every input comes from
// node_modules, so the same build works on an intranet mirror of the npm registry.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const web = join(root, "onewindow", "web");
const nodeModules = join(root, "node_modules");
const dist = join(web, "static", "dist");
const vendor = join(web, "static", "vendor");

function report(path) {
  console.log(`  wrote ${relative(root, path)}`);
}

function buildCss() {
  const source = join(web, "assets", "scss", "onewindow.scss");
  const result = sass.compile(source, {
    loadPaths: [nodeModules],
    style: "compressed",
    sourceMap: false,
    // GOV.UK Frontend's own deprecation notices are for its maintainers, not for this build.
    quietDeps: true,
  });
  if (/url\(/.test(result.css.replace(/url\(data:/g, ""))) {
    // We ship no GOV.UK images or fonts: a url() would point at an asset that does not exist.
    const match = result.css.match(/url\([^)]*\)/g) ?? [];
    const external = match.filter((url) => !url.startsWith("url(data:"));
    if (external.length > 0) {
      throw new Error(`compiled CSS references assets we do not ship: ${external.join(", ")}`);
    }
  }
  mkdirSync(dist, { recursive: true });
  const target = join(dist, "onewindow.css");
  writeFileSync(target, result.css);
  report(target);
}

function copyVendor() {
  mkdirSync(vendor, { recursive: true });
  const files = [
    [join(nodeModules, "govuk-frontend", "dist", "govuk", "govuk-frontend.min.js"), "govuk-frontend.min.js"],
    [join(nodeModules, "htmx.org", "dist", "htmx.min.js"), "htmx.min.js"],
  ];
  for (const [from, name] of files) {
    const target = join(vendor, name);
    // The source maps are not shipped; a dangling sourceMappingURL makes browsers request a 404.
    const text = readFileSync(from, "utf8").replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, "\n");
    writeFileSync(target, text);
    report(target);
  }
}

console.log("Building OneWindow static assets");
buildCss();
copyVendor();
