/* sphinx-togglebutton names its buttons "Toggle hidden content" for screen readers, in English:
   name them in French. Its buttons exist once the DOM is loaded; "load" comes after. */
window.addEventListener("load", () => {
  for (const button of document.querySelectorAll("button.toggle-button")) {
    button.setAttribute("aria-label", "Afficher ou masquer le contenu");
  }
});
