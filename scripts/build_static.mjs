// Build OneWindow's front-end assets (run with `npm ci && npm run build`; the Makefile does both).
//
//   onewindow/web/assets/scss/onewindow.scss  --sass-->  onewindow/web/static/dist/onewindow.css
//   govuk-frontend's ES module bundle and htmx         --copy-->  onewindow/web/static/vendor/
//   onewindow/workflow/assets/{process_editor,case_diagram}.js  --esbuild-->  onewindow/workflow/static/workflow/dist/
//   bpmn-js, diagram-js and properties-panel CSS, the bpmn-font, workflow.css  --copy-->  the same dist/
//
// The output folders are git-ignored. Nothing here reaches the network: every input comes from
// node_modules, so the same build works on an intranet mirror of the npm registry.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const web = join(root, "onewindow", "web");
const nodeModules = join(root, "node_modules");
const dist = join(web, "static", "dist");
const vendor = join(web, "static", "vendor");
const workflow = join(root, "onewindow", "workflow");
const workflowDist = join(workflow, "static", "workflow", "dist");

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

// bpmn-js-properties-panel builds its two containers from HTML with style attributes, which our CSP
// (style-src 'self': no inline styles) blocks, reporting a violation. The attributes are dropped here and
// the same rules are in onewindow/workflow/assets/workflow.css. A new version that changes this markup
// fails the build rather than the CSP.
const INLINE_STYLE_PATCHES = [
  [
    '<div style="height: 100%" tabindex="-1" class="bio-properties-panel-container">',
    '<div tabindex="-1" class="bio-properties-panel-container">',
  ],
  [
    '<div style="flex: none; height: auto" class="bio-properties-panel bio-theme-parent bio-properties-panel-header-container">',
    '<div class="bio-properties-panel bio-theme-parent bio-properties-panel-header-container">',
  ],
];

const noInlineStyles = {
  name: "no-inline-styles",
  setup(build) {
    build.onLoad({ filter: /bpmn-js-properties-panel[\\/]dist[\\/]index\.esm\.js$/ }, (args) => {
      let text = readFileSync(args.path, "utf8");
      for (const [from, to] of INLINE_STYLE_PATCHES) {
        if (!text.includes(from)) {
          throw new Error(`${relative(root, args.path)} no longer contains ${from}: check its inline styles`);
        }
        text = text.replace(from, to);
      }
      if (/domify\([^)]*style=/.test(text)) {
        throw new Error(`${relative(root, args.path)} builds HTML with a style attribute our CSP blocks`);
      }
      return { contents: text, loader: "js" };
    });
  },
};

// The BPMN editor and viewers (bpmn-js from npm, self-hosted: nothing is fetched from a CDN at run time).
// Classic scripts (IIFE) loaded with `defer`; our CSP allows scripts from 'self' only, so no inline code.
async function buildWorkflow() {
  rmSync(workflowDist, { recursive: true, force: true });
  mkdirSync(workflowDist, { recursive: true });
  const entries = ["process_editor", "case_diagram"];
  await esbuild.build({
    entryPoints: Object.fromEntries(entries.map((name) => [name, join(workflow, "assets", `${name}.js`)])),
    outdir: workflowDist,
    bundle: true,
    format: "iife",
    minify: true,
    target: ["es2020"],
    sourcemap: false,
    // Licence headers of bpmn-js and friends go into one file next to the bundles.
    legalComments: "linked",
    define: { "process.env.NODE_ENV": '"production"' },
    plugins: [noInlineStyles],
    logLevel: "warning",
  });
  for (const name of entries) {
    report(join(workflowDist, `${name}.js`));
  }
  const assets = join(nodeModules, "bpmn-js", "dist", "assets");
  const files = [
    [join(assets, "diagram-js.css"), "diagram-js.css"],
    [join(assets, "bpmn-js.css"), "bpmn-js.css"],
    [join(nodeModules, "@bpmn-io", "properties-panel", "dist", "assets", "properties-panel.css"), "properties-panel.css"],
    [join(workflow, "assets", "workflow.css"), "workflow.css"],
  ];
  for (const [from, name] of files) {
    const target = join(workflowDist, name);
    cpSync(from, target);
    report(target);
  }
  // bpmn.css loads its font from ../font/, so the folder keeps its layout.
  const font = join(workflowDist, "bpmn-font");
  cpSync(join(assets, "bpmn-font", "css", "bpmn.css"), join(font, "css", "bpmn.css"));
  cpSync(join(assets, "bpmn-font", "font"), join(font, "font"), { recursive: true });
  report(font);
}

console.log("Building OneWindow static assets");
buildCss();
copyVendor();
await buildWorkflow();
