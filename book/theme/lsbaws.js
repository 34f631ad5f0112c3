// The book's own script, run after mdBook's book.js has highlighted the
// code (book.toml: output.html.additional-js).
//
// A listing included from inside a function ({{#include file:anchor}})
// keeps the function's indentation: 8 or 16 columns of nothing on every
// line. Remove the indentation all its lines share, walking the text nodes
// of the highlighted block so that the colours stay. The copy button copies
// what is shown.
(function trimListingIndentation() {
    for (const code of document.querySelectorAll("main pre > code")) {
        if (code.classList.contains("language-diff")) continue;
        const lines = code.textContent.split("\n").filter(l => l.trim() !== "");
        if (lines.length === 0) continue;
        const common = Math.min(...lines.map(l => l.length - l.trimStart().length));
        if (common === 0) continue;
        const walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT);
        let toStrip = common; // at the start of a line: spaces still to remove
        for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
            let out = "";
            for (const c of node.nodeValue) {
                if (c === "\n") {
                    out += c;
                    toStrip = common;
                } else if (toStrip > 0 && (c === " " || c === "\t")) {
                    toStrip -= 1;
                } else {
                    out += c;
                    toStrip = 0;
                }
            }
            node.nodeValue = out;
        }
    }
})();

// The language picker: a button in the menu bar that opens this page in
// the other edition. The English book is the root of the site and the
// Chinese edition lives in its zh-CN/ folder (book/i18n build), so the
// same page in the other language is the same path under the other root.
// The page's path comes from mdBook's `path_to_root` (relative, or the
// site-url on the 404 page), which works on a server, under a sub-path and
// from files opened directly.
(function languagePicker() {
    const bar = document.querySelector("#mdbook-menu-bar .right-buttons");
    if (bar === null || typeof path_to_root === "undefined") return;
    const chinese = document.documentElement.lang === "zh-CN";
    const root = new URL(path_to_root, location.href);
    const here = new URL(location.href);
    here.hash = "";
    here.search = "";
    let page = here.href.startsWith(root.href) ? here.href.slice(root.href.length) : "";
    // The 404 page is shown at whatever address was asked for.
    if (document.getElementById("document-not-found-404")) page = "";
    const other = new URL(chinese ? "../" + page : "zh-CN/" + page, root);
    const link = document.createElement("a");
    link.id = "lsbaws-language";
    link.href = other.href + location.hash;
    link.hreflang = chinese ? "en" : "zh-CN";
    link.lang = link.hreflang;
    link.title = chinese ? "Read this page in English" : "阅读本页的中文版";
    link.setAttribute("aria-label", link.title);
    link.textContent = chinese ? "EN" : "中文";
    bar.prepend(link);
})();
