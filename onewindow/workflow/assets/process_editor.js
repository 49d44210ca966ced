// The process editor (/admin/processes/<key>/editor/): bpmn-js Modeler with the properties panel.
//
// Validate, "save as a new draft" and publish go to the page's own JSON endpoints (fetch with the CSRF
// token); nothing reloads the page. The bpmn.io watermark that bpmn-js shows stays, as its licence asks.
// Without JavaScript the page shows a link to download the model and to upload a file instead.
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";

import { getText, postJson } from "./http.js";
import translateModule from "./translate_zh.js";

// Messages come translated from the page, with {name} placeholders ({% translate %} doubles a "%").
function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, name) => (name in values ? String(values[name]) : match));
}

// "… (element_id)" / "…（element_id）": the element a validation message is about.
function elementIdOf(problem) {
  const match = /[(（]([A-Za-z_][\w.-]*)[)）]\s*$/.exec(problem.message_en || problem.message || "");
  return match ? match[1] : null;
}

class ProcessEditor {
  constructor(root) {
    this.root = root;
    this.messages = root.dataset;
    this.csrfToken = root.querySelector("input[name=csrfmiddlewaretoken]").value;
    this.status = root.querySelector("[data-ow-status]");
    this.problems = root.querySelector("[data-ow-problems]");
    this.publishButton = root.querySelector("[data-ow-publish]");
    this.viewLink = root.querySelector("[data-ow-view]");
    this.saved = null;
    this.modeler = new BpmnModeler({
      container: root.querySelector("[data-ow-canvas]"),
      propertiesPanel: { parent: root.querySelector("[data-ow-properties]") },
      additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, translateModule],
    });
    // For the browser tests and for administrators' own scripts in the console.
    window.owModeler = this.modeler;
    this.modeler.on("commandStack.changed", () => this.onChanged());
    root.querySelector("[data-ow-validate]").addEventListener("click", () => this.validate());
    root.querySelector("[data-ow-save]").addEventListener("click", () => this.save());
    this.publishButton.addEventListener("click", () => this.publish());
  }

  say(text) {
    this.status.textContent = text;
  }

  async load() {
    document.querySelector("[data-ow-editor-fallback]")?.setAttribute("hidden", "");
    this.root.hidden = false;
    this.say(this.messages.msgLoading);
    try {
      if (this.root.dataset.bpmnUrl) {
        await this.modeler.importXML(await getText(this.root.dataset.bpmnUrl));
      } else {
        await this.modeler.createDiagram();
      }
      this.modeler.get("canvas").zoom("fit-viewport", "auto");
      this.say(this.messages.msgLoaded);
      this.root.dataset.owReady = "true";
    } catch (error) {
      console.warn("process editor: import failed", error);
      this.say(this.messages.msgLoadFailed);
    }
  }

  onChanged() {
    this.clearProblems();
    if (this.saved && !this.publishButton.hidden) {
      this.publishButton.hidden = true;
      this.say(this.messages.msgChanged);
    }
  }

  // The model, and the version it started from: the server keeps that version's DMN decision tables.
  async payload() {
    const { xml } = await this.modeler.saveXML({ format: true });
    const fromVersion = this.root.dataset.fromVersion;
    return fromVersion ? { bpmn_xml: xml, from_version: Number(fromVersion) } : { bpmn_xml: xml };
  }

  clearProblems() {
    this.problems.replaceChildren();
  }

  showProblems(problems) {
    this.clearProblems();
    if (!problems || problems.length === 0) return;
    const summary = document.createElement("div");
    summary.className = "govuk-error-summary";
    summary.setAttribute("tabindex", "-1");
    const alert = document.createElement("div");
    alert.setAttribute("role", "alert");
    const title = document.createElement("h2");
    title.className = "govuk-error-summary__title";
    title.textContent = this.messages.msgProblemTitle;
    const body = document.createElement("div");
    body.className = "govuk-error-summary__body";
    const list = document.createElement("ul");
    list.className = "govuk-list govuk-error-summary__list";
    const registry = this.modeler.get("elementRegistry");
    for (const problem of problems) {
      const item = document.createElement("li");
      item.dataset.code = problem.code || "";
      const text = document.createElement("span");
      text.textContent = problem.message;
      item.append(text);
      const elementId = elementIdOf(problem);
      const element = elementId ? registry.get(elementId) : null;
      if (element) {
        const show = document.createElement("button");
        show.type = "button";
        show.className = "ow-link-button govuk-link";
        show.textContent = `${this.messages.msgShowElement}: ${elementId}`;
        show.addEventListener("click", () => {
          this.modeler.get("selection").select(element);
          this.modeler.get("canvas").scrollToElement(element);
        });
        item.append(" ", show);
      }
      list.append(item);
    }
    body.append(list);
    alert.append(title, body);
    summary.append(alert);
    this.problems.append(summary);
    summary.focus();
  }

  async run(action) {
    const buttons = this.root.querySelectorAll("button[data-ow-validate], button[data-ow-save], button[data-ow-publish]");
    buttons.forEach((button) => (button.disabled = true));
    this.say(this.messages.msgWorking);
    try {
      await action();
    } catch (error) {
      console.warn("process editor: request failed", error);
      this.say(this.messages.msgFailed);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  }

  validate() {
    return this.run(async () => {
      const { body } = await postJson(this.root.dataset.validateUrl, this.csrfToken, await this.payload());
      this.say(body.message || this.messages.msgFailed);
      this.showProblems(body.problems);
      this.root.dataset.owValidated = body.valid ? "valid" : "invalid";
    });
  }

  save() {
    return this.run(async () => {
      const { status, body } = await postJson(this.root.dataset.saveUrl, this.csrfToken, await this.payload());
      this.say(body.message || this.messages.msgFailed);
      if (status !== 201) {
        this.showProblems(body.problems);
        return;
      }
      this.clearProblems();
      this.saved = body;
      this.root.dataset.owSavedVersion = String(body.version);
      this.publishButton.textContent = format(this.messages.msgPublish, { version: body.version });
      this.publishButton.hidden = false;
      this.viewLink.textContent = format(this.messages.msgView, { version: body.version });
      this.viewLink.href = body.url;
      this.viewLink.hidden = false;
    });
  }

  publish() {
    if (!this.saved) return undefined;
    return this.run(async () => {
      const { status, body } = await postJson(this.saved.publish_url, this.csrfToken);
      this.say(body.message || this.messages.msgFailed);
      if (status === 200) {
        this.publishButton.hidden = true;
        this.root.dataset.owPublishedVersion = String(body.version);
      }
    });
  }
}

const root = document.querySelector("[data-ow-process-editor]");
if (root) {
  new ProcessEditor(root).load();
}
