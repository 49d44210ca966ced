// Small helpers shared by the editor and the viewers: same-origin fetches with the CSRF token.

export async function getText(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/xml, text/xml" } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.text();
}

export async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return response.json();
}

// POST JSON; resolves to {status, body} for any HTTP answer (4xx bodies carry the bilingual refusal).
export async function postJson(url, csrfToken, payload) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRFToken": csrfToken,
    },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  let body = {};
  try {
    body = await response.json();
  } catch {
    body = {};
  }
  return { status: response.status, body };
}

// bpmn-js draws into an <svg> that a screen reader cannot use: the page carries a text equivalent, so the
// drawing is hidden from assistive technology and taken out of the tab order (diagram-js makes it
// focusable for keyboard panning; the viewers fit the whole diagram in view instead). The bpmn.io link
// stays reachable.
export function hideCanvasFromScreenReaders(container) {
  for (const svg of container.querySelectorAll(".djs-container > svg")) {
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("tabindex", "-1");
  }
}
