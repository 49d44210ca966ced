// Copy buttons of the federation's node page (templates/federation/partials/copyable.html): progressive
// enhancement, the buttons stay hidden without JavaScript and the read-only field can still be selected.
for (const button of document.querySelectorAll("button[data-ow-copy]")) {
  const field = document.getElementById(button.dataset.owCopy);
  const status = document.getElementById(`${button.dataset.owCopy}-status`);
  if (!field || !status) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      status.textContent = button.dataset.owCopied;
    } catch {
      field.focus();
      field.select();
      status.textContent = button.dataset.owCopyFailed;
    }
  });
}
