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
