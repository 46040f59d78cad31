/* The search index's French stems carry no accents (book/_ext/search_fr.py), so the terms that
   Sphinx looks for in a result page to show its excerpt carry none either ("retropropag") and
   miss the page's "rétropropagation". Spell each term as the page does before Sphinx looks:
   find it in the page's text with accents folded (one UTF-16 unit for one, positions kept). */
(() => {
  if (typeof Search === "undefined" || typeof Search.makeSearchSummary !== "function") return;
  const fold = (s) => s.split("").map((c) => c.normalize("NFD")[0]).join("");
  const summary = Search.makeSearchSummary;
  Search.makeSearchSummary = (htmlText, keywords, anchor) => {
    const text = Search.htmlToText(htmlText, anchor).toLowerCase();
    const folded = fold(text);
    const spelled = [...keywords].map((k) => {
      const at = folded.indexOf(fold(k.toLowerCase()));
      return at > -1 ? text.substr(at, k.length) : k;
    });
    return summary(htmlText, new Set(spelled), anchor);
  };
})();
