// Read-only BPMN diagrams: a process version (/admin/processes/<key>/versions/<n>/) and a case's live
// position (/cases/<tracking_no>/diagram/), where active user tasks get the marker ``ow-active`` and done
// ones ``ow-done``, each with a text label too (never colour alone). The page lists the same tasks as text
// for screen readers; the drawing itself is aria-hidden. bpmn-js keeps its bpmn.io watermark.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";

import { getJson, getText, hideCanvasFromScreenReaders } from "./http.js";

function badge(text, kind) {
  const element = document.createElement("span");
  element.className = `ow-diagram-badge ow-diagram-badge--${kind}`;
  element.textContent = text;
  return element;
}

function mark(viewer, tasks, marker, label) {
  const registry = viewer.get("elementRegistry");
  const canvas = viewer.get("canvas");
  const overlays = viewer.get("overlays");
  const marked = new Set();
  for (const task of tasks) {
    if (marked.has(task.task_spec) || !registry.get(task.task_spec)) continue;
    marked.add(task.task_spec);
    canvas.removeMarker(task.task_spec, "ow-done");
    canvas.addMarker(task.task_spec, marker);
    overlays.remove({ element: task.task_spec, type: "ow-state" });
    overlays.add(task.task_spec, "ow-state", { position: { bottom: 4, left: 4 }, html: badge(label, marker) });
  }
  return marked;
}

async function show(container) {
  const canvasElement = container.querySelector("[data-ow-canvas]");
  const status = container.querySelector("[data-ow-status]");
  canvasElement.hidden = false;
  const viewer = new NavigatedViewer({ container: canvasElement });
  try {
    let xml;
    let data = null;
    if (container.dataset.diagramUrl) {
      data = await getJson(container.dataset.diagramUrl);
      xml = data.bpmn_xml;
    } else {
      xml = await getText(container.dataset.bpmnUrl);
    }
    await viewer.importXML(xml);
    viewer.get("canvas").zoom("fit-viewport", "auto");
    if (data) {
      mark(viewer, data.done, "ow-done", container.dataset.labelDone);
      // Active after done: a task done once and active again (returned, looped) shows as active.
      mark(viewer, data.active, "ow-active", container.dataset.labelActive);
    }
    hideCanvasFromScreenReaders(canvasElement);
    status.hidden = true;
    container.dataset.owReady = "true";
  } catch (error) {
    console.warn("diagram viewer: could not show the diagram", error);
    canvasElement.hidden = true;
    status.textContent = container.dataset.failed;
  }
  window.owViewers = [...(window.owViewers || []), viewer];
}

for (const container of document.querySelectorAll("[data-ow-bpmn-viewer]")) {
  show(container);
}
for (const element of document.querySelectorAll(".ow-js-only")) {
  element.hidden = false;
}
