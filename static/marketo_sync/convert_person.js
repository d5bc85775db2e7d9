// Convert Person: the confirm button stays disabled until "I understand" is ticked.
"use strict";
{
  const box = document.getElementById("id_understand");
  const button = document.getElementById("confirm-convert");
  if (box && button) {
    box.addEventListener("change", () => { button.disabled = !box.checked; });
    button.disabled = !box.checked;
  }
}
