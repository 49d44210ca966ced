// Loaded synchronously as the first thing in <body>, so GOV.UK Frontend's "JavaScript is on" styles
// apply before the first paint (GOV.UK's template does this inline; our CSP allows no inline script).
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
