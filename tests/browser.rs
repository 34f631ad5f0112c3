//! A real browser — headless Chromium — loads the sample site from every
//! keep-alive server: every image arrives whole, and a screenshot of the
//! page shows the page, not a blank or an error page.
//!
//! curl asks for one file at a time. A browser opens several connections
//! at once, keeps them alive, sends requests as soon as it parses the links
//! and gives up on anything malformed: the test curl cannot be.
//!
//! Needs Chromium (`apt-get install -y chromium` on Debian/Ubuntu). The
//! test is `#[ignore]`d so that `cargo test` stays usable without a 300 MB
//! browser; `.ci/run` runs it with `cargo test -- --include-ignored`, and
//! without Chromium it fails with a message that says how to install it.

mod book_support;

use lsbaws::http::site::default_root;
use lsbaws_harness::{Launch, ScratchDir, KEEP_ALIVE_MODELS};
use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser's names on the usual distributions, tried in order.
const BROWSERS: &[&str] = &["chromium", "chromium-browser", "google-chrome"];

/// How long one browser run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);

/// A page added to a copy of the site: it loads the site's two pages in
/// frames and, once everything has loaded, writes into its title whether
/// each of their images was decoded (`naturalWidth > 0`).
const CHECK_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>not loaded</title></head>
<body>
<iframe src="/" width="800" height="600"></iframe>
<iframe src="/guide/" width="400" height="300"></iframe>
<script>
window.addEventListener("load", () => {
  const report = [];
  for (const frame of document.querySelectorAll("iframe")) {
    for (const img of frame.contentDocument.images) {
      const ok = img.complete && img.naturalWidth > 0;
      report.push((ok ? "ok " : "BROKEN ") + img.getAttribute("src"));
    }
  }
  document.title = report.join(", ");
});
</script>
</body></html>
"#;

#[test]
#[ignore = "needs headless Chromium (apt-get install -y chromium); run with `cargo test -- --include-ignored`"]
fn a_browser_loads_the_site_with_every_image_from_each_keep_alive_server() {
    let browser = find_browser();
    let site = site_with_page("browser-site", "browser-check.html", CHECK_PAGE);
    let images = count_images(&site.path().join("index.html"))
        + count_images(&site.path().join("guide/index.html"));

    for name in KEEP_ALIVE_MODELS {
        let server = Launch::new(name)
            .arg("--quiet")
            .arg("--root")
            .arg(site.path())
            .start()
            .unwrap();
        let base = format!("http://{}", server.addr());

        let dom = run_browser(
            &browser,
            &["--dump-dom".into(), format!("{base}/browser-check.html")],
        );
        let title = page_title(&dom)
            .unwrap_or_else(|| panic!("{name}: no <title> in the page the browser loaded:\n{dom}"));
        let loaded = title
            .split(", ")
            .filter(|entry| entry.starts_with("ok "))
            .count();
        assert_eq!(loaded, images, "{name}: images the browser loaded: {title}");

        let shot = ScratchDir::new("browser-shot").unwrap();
        let png = shot.path().join("page.png");
        run_browser(
            &browser,
            &[
                "--window-size=800,600".into(),
                format!("--screenshot={}", png.display()),
                format!("{base}/"),
            ],
        );
        let colours = distinct_colours(&png);
        // The page's gradient banner and noise image give a screenshot of
        // about 100,000 colours; a blank page has one, text alone a few hundred.
        assert!(
            colours > 5_000,
            "{name}: the screenshot has only {colours} colours; is it blank?"
        );
        assert_eq!(server.stderr(), "", "{name} wrote to stderr");
    }
}

/// Without the blank line after its headers, `webserver1`'s response has
/// no body: every byte arrives, `Hello, World!` among them, yet the browser
/// reads it as one more header line and shows an empty page. With the blank
/// line the same server's page is the text.
#[test]
#[ignore = "needs headless Chromium (apt-get install -y chromium); run with `cargo test -- --include-ignored`"]
fn without_the_blank_line_a_browser_shows_an_empty_page() {
    let browser = find_browser();
    for (flags, shows_hello) in [
        (&["--quiet"][..], true),
        (&["--quiet", "--no-blank-line"][..], false),
    ] {
        let server = Launch::new("webserver1").args(flags).start().unwrap();
        let dom = run_browser(
            &browser,
            &[
                "--dump-dom".into(),
                format!("http://{}/hello", server.addr()),
            ],
        );
        assert!(
            dom.contains("<body>"),
            "webserver1 {flags:?}: no page at all:\n{dom}"
        );
        assert_eq!(
            dom.contains("Hello, World!"),
            shows_hello,
            "webserver1 {flags:?}: the page the browser shows:\n{dom}"
        );
    }
}

/// The book's pages that the browser opens, and whether each has code
/// blocks: Part 1, chapters with diagrams, step diffs and Rust code, a
/// Part 4 chapter, and the Part 4 comparison. Each has at least one diagram.
const BOOK_PAGES: &[(&str, bool)] = &[
    ("part1/webserver1.html", true),
    ("part3/webserver3c.html", true),
    ("part3/webserver3f.html", true),
    ("part4/webserver4c.html", true),
    ("part4/comparison.html", true),
];

/// A page added to the built book: it opens the chapter named in its query
/// string in a frame and, once it has loaded, writes into its title what
/// a reader would see go wrong: images that did not load, code blocks that
/// highlight.js did not colour, a search box that finds nothing.
const BOOK_CHECK_PAGE: &str = r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>not loaded</title></head>
<body>
<iframe id="chapter" width="1000" height="800"></iframe>
<script>
const frame = document.getElementById("chapter");
frame.addEventListener("load", () => setTimeout(() => {
  const page = frame.contentDocument;
  const images = [...page.querySelectorAll("main img")];
  const broken = images.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute("src"));
  const blocks = [...page.querySelectorAll("main pre code")];
  const plain = blocks.filter(b => !b.classList.contains("hljs")).length;
  const rust = blocks.filter(b => b.classList.contains("language-rust") || b.classList.contains("language-diff"));
  const uncoloured = rust.filter(b => !b.querySelector("span[class^='hljs-']")).length;
  const bar = page.getElementById("mdbook-searchbar");
  const report = () => {
    const hits = page.querySelectorAll("#mdbook-searchresults li").length;
    document.title = ["images=" + images.length, "broken=" + broken.join(","), "blocks=" + blocks.length,
      "unhighlighted=" + plain, "rust=" + rust.length, "uncoloured=" + uncoloured,
      "searchbox=" + (bar !== null), "hits=" + hits,
      "heading=" + (page.querySelector("main h1")?.textContent ?? "")].join(";");
  };
  if (bar === null) { report(); return; }
  page.getElementById("mdbook-search-toggle").click();
  bar.value = "zombie";
  bar.dispatchEvent(new KeyboardEvent("keyup", { key: "e", bubbles: true }));
  setTimeout(report, 1500);
}, 500));
frame.src = location.search.slice(1);
</script>
</body></html>
"##;

/// The book, built by mdBook and served by one of our own servers, renders
/// in a real browser: every image of the chosen pages loads (the diagrams
/// are SVG files), every code block is highlighted, Rust code and step diffs
/// are coloured, and the search box finds "zombie".
#[test]
#[ignore = "needs headless Chromium and mdbook; run with `cargo test --test browser -- --include-ignored`"]
fn the_book_renders_with_images_highlighted_code_and_search() {
    let browser = find_browser();
    if let Some(problem) = book_support::mdbook_problem() {
        panic!("{problem}");
    }
    let book = book_support::build_book("browser").expect("mdbook is installed");
    std::fs::write(book.join("book-check.html"), BOOK_CHECK_PAGE).unwrap();
    let server = Launch::new("webserver4h")
        .arg("--quiet")
        .arg("--root")
        .arg(&book)
        .start()
        .unwrap();
    let mut problems = Vec::new();
    for &(page, has_code) in BOOK_PAGES {
        let url = format!("http://{}/book-check.html?{page}", server.addr());
        let (_, title) = load_check_page(&browser, url);
        let field = |key: &str| title_field(&title, key);
        let number = |key: &str| field(key).parse::<usize>().unwrap_or(usize::MAX);
        if title == "not loaded" || !title.contains("images=") {
            problems.push(format!(
                "{page}: the check page reported nothing: {title:?}"
            ));
            continue;
        }
        if field("heading").is_empty() {
            problems.push(format!(
                "{page}: no heading: is the page missing? ({title})"
            ));
        }
        if number("images") == 0 {
            problems.push(format!("{page}: no image: its diagram is missing"));
        }
        if !field("broken").is_empty() {
            problems.push(format!(
                "{page}: images that did not load: {}",
                field("broken")
            ));
        }
        if (has_code && number("blocks") == 0) || number("unhighlighted") != 0 {
            problems.push(format!(
                "{page}: {} of {} code blocks not highlighted",
                field("unhighlighted"),
                field("blocks")
            ));
        }
        if number("uncoloured") != 0 {
            problems.push(format!(
                "{page}: {} of {} Rust and diff blocks have no colours",
                field("uncoloured"),
                field("rust")
            ));
        }
        if field("searchbox") != "true" || number("hits") == 0 {
            problems.push(format!(
                "{page}: the search box is missing or finds nothing for \"zombie\" ({title})"
            ));
        }
        eprintln!("{page}: {title}");
    }
    let _ = std::fs::remove_dir_all(&book);
    assert!(
        problems.is_empty(),
        "the book as Chromium shows it:\n  {}",
        problems.join("\n  ")
    );
}

/// A page added to the built book: it opens the Chinese page named in its
/// query string in a frame and writes into its title how many CJK
/// characters the page's text has, whether they render as glyphs (two
/// different characters drawn with the page's font give two different
/// pictures; a missing font draws both as the same empty box), and where
/// the language link leads.
const CJK_CHECK_PAGE: &str = r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>not loaded</title></head>
<body>
<iframe id="chapter" width="1000" height="800"></iframe>
<script>
const frame = document.getElementById("chapter");
frame.addEventListener("load", () => setTimeout(() => {
  const page = frame.contentDocument;
  const main = page.querySelector("main");
  const text = main ? main.textContent : "";
  const cjk = (text.match(/[\u4e00-\u9fff]/g) || []).length;
  const para = main ? main.querySelector("p") : null;
  const font = para ? getComputedStyle(para).font : "16px sans-serif";
  const draw = (ch) => {
    const canvas = document.createElement("canvas");
    canvas.width = 40; canvas.height = 40;
    const ctx = canvas.getContext("2d");
    ctx.font = font.replace(/\d+(\.\d+)?px/, "32px");
    ctx.fillStyle = "#000";
    ctx.fillText(ch, 2, 34);
    const data = ctx.getImageData(0, 0, 40, 40).data;
    let inked = 0, sum = "";
    for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) inked++; sum += data[i] > 127 ? "1" : "0"; }
    return { inked, sum };
  };
  const a = draw("套"), b = draw("接");
  const link = page.getElementById("lsbaws-language");
  document.title = ["cjk=" + cjk, "inked=" + Math.min(a.inked, b.inked), "distinct=" + (a.sum !== b.sum),
    "lang=" + page.documentElement.lang, "link=" + (link ? link.getAttribute("href") : ""),
    "heading=" + (page.querySelector("main h1")?.textContent ?? "")].join(";");
}, 500));
frame.src = location.search.slice(1);
</script>
</body></html>
"##;

/// The Chinese pages whose rendering is checked and kept as screenshots:
/// a Part 3 chapter, a Part 4 chapter and an exercise.
const CHINESE_PAGES: &[&str] = &[
    "part3/webserver3e.html",
    "part4/webserver4e.html",
    "exercises/3c.html",
];

/// The Chinese edition renders in a real browser: its pages are in Chinese
/// (`lang="zh-CN"`), the Chinese text is drawn as glyphs, not as boxes (a
/// machine without a CJK font shows boxes: `apt-get install
/// fonts-noto-cjk`), and the language link leads to the same page in
/// English. Screenshots of the pages are kept in target/tmp/book-shots/zh-CN/.
#[test]
#[ignore = "needs headless Chromium and mdbook; run with `cargo test --test browser -- --include-ignored`"]
fn the_chinese_edition_renders_its_text_as_glyphs() {
    let browser = find_browser();
    if let Some(problem) = book_support::mdbook_problem() {
        panic!("{problem}");
    }
    let book = book_support::build_book("zh").expect("mdbook is installed");
    let chinese = book_support::chinese_edition(&book).unwrap_or_else(|| {
        panic!(
            "no Chinese edition was built: `{}`",
            book_support::gettext_install_hint()
        )
    });
    std::fs::write(chinese.join("cjk-check.html"), CJK_CHECK_PAGE).unwrap();
    let server = Launch::new("webserver4h")
        .arg("--quiet")
        .arg("--root")
        .arg(&book)
        .start()
        .unwrap();
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("book-shots/zh-CN");
    std::fs::create_dir_all(&shots).unwrap();
    let mut problems = Vec::new();
    for page in CHINESE_PAGES {
        let url = format!("http://{}/zh-CN/cjk-check.html?{page}", server.addr());
        let (_, title) = load_check_page(&browser, url);
        let field = |key: &str| title_field(&title, key);
        let number = |key: &str| field(key).parse::<usize>().unwrap_or(0);
        eprintln!("zh-CN/{page}: {title}");
        if number("cjk") < 100 {
            problems.push(format!(
                "zh-CN/{page}: only {} Chinese characters: is the page translated? ({title})",
                field("cjk")
            ));
        }
        if number("inked") == 0 || field("distinct") != "true" {
            problems.push(format!(
                "zh-CN/{page}: Chinese characters do not render as glyphs (no CJK font? \
                 `apt-get install -y fonts-noto-cjk`): {title}"
            ));
        }
        if field("lang") != "zh-CN" {
            problems.push(format!("zh-CN/{page}: <html lang> is {}", field("lang")));
        }
        let english = format!("/{page}");
        if !field("link").ends_with(&english) || field("link").contains("zh-CN") {
            problems.push(format!(
                "zh-CN/{page}: the language link leads to {:?}, not to the English {english}",
                field("link")
            ));
        }
        let png = shots.join(page.replace('/', "-").replace(".html", ".png"));
        run_browser(
            &browser,
            &[
                "--window-size=1280,1600".into(),
                "--hide-scrollbars".into(),
                format!("--screenshot={}", png.display()),
                format!("http://{}/zh-CN/{page}", server.addr()),
            ],
        );
        let colours = distinct_colours(&png);
        if colours < 50 {
            problems.push(format!(
                "zh-CN/{page}: the screenshot {} has only {colours} colours; is it blank?",
                png.display()
            ));
        }
        eprintln!("zh-CN/{page}: screenshot {}", png.display());
    }
    let _ = std::fs::remove_dir_all(&book);
    assert!(
        problems.is_empty(),
        "the Chinese edition as Chromium shows it:\n  {}",
        problems.join("\n  ")
    );
}

/// A page added to the built book: it opens each page named in its query
/// string (comma-separated) in a frame as wide as a 1280 px screen and
/// writes into its title, for each, the code blocks whose text runs past
/// their column or that are still indented (a listing from inside a
/// function, which book/theme/lsbaws.js trims), and the tables wider than
/// the page's column.
const FIT_CHECK_PAGE: &str = r##"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>not loaded</title></head>
<body style="margin:0">
<iframe id="page" width="1280" height="900" style="border:0"></iframe>
<script>
const frame = document.getElementById("page");
const pages = location.search.slice(1).split(",");
const report = [];
let next = 0;
const measure = () => {
  const doc = frame.contentDocument;
  const main = doc.querySelector("main");
  const column = main ? main.getBoundingClientRect() : null;
  const problems = [];
  if (!main) problems.push("no main");
  else {
    for (const pre of main.querySelectorAll("pre")) {
      const box = pre.querySelector("code") ?? pre;
      if (box.scrollWidth > box.clientWidth + 1 || pre.getBoundingClientRect().right > column.right + 1) {
        const line = (box.textContent.split("\n").find(l => l.length > 60) ?? box.textContent).slice(0, 60);
        problems.push("pre scrolls (" + box.scrollWidth + " > " + box.clientWidth + " px): " + JSON.stringify(line));
      }
      const lines = box.textContent.split("\n").filter(l => l.trim() !== "");
      const indent = lines.length ? Math.min(...lines.map(l => l.length - l.trimStart().length)) : 0;
      if (indent >= 4 && !box.classList.contains("language-diff")) {
        problems.push("pre indented by " + indent + " columns: " + JSON.stringify(lines[0].slice(0, 60)));
      }
    }
    for (const table of main.querySelectorAll("table")) {
      const width = table.getBoundingClientRect().width;
      if (width > column.width + 1) {
        problems.push("table " + Math.round(width) + " px in a " + Math.round(column.width) + " px column: " +
          JSON.stringify((table.querySelector("th")?.textContent ?? "").slice(0, 40)));
      }
    }
  }
  report.push(pages[next] + "=" + (problems.length ? problems.join(" | ") : "ok"));
  next += 1;
  if (next < pages.length) frame.src = pages[next];
  else document.title = "done;" + report.join(";;");
};
frame.addEventListener("load", () => setTimeout(measure, 300));
frame.src = pages[0];
</script>
</body></html>
"##;

/// The student's pages of the built book: every page of SUMMARY.md but
/// the instructor notes, as paths of the built HTML.
fn student_pages() -> Vec<String> {
    let summary =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/SUMMARY.md"))
            .unwrap();
    summary
        .lines()
        .filter_map(|line| line.split_once("](")?.1.split_once(')'))
        .map(|(target, _)| target.trim())
        .filter(|target| target.ends_with(".md") && !target.starts_with("instructors/"))
        .map(|target| target.replace(".md", ".html"))
        .collect()
}

/// Nothing is cut off for a reader on a 1280 px screen: on every student
/// page, every code block (transcripts, console output, code) fits its
/// column or wraps, and no table is wider than the column.
#[test]
#[ignore = "needs headless Chromium and mdbook; run with `cargo test --test browser -- --include-ignored`"]
fn every_student_page_fits_a_1280px_screen() {
    let browser = find_browser();
    if let Some(problem) = book_support::mdbook_problem() {
        panic!("{problem}");
    }
    let book = book_support::build_book("fit").expect("mdbook is installed");
    std::fs::write(book.join("fit-check.html"), FIT_CHECK_PAGE).unwrap();
    let server = Launch::new("webserver4h")
        .arg("--quiet")
        .arg("--root")
        .arg(&book)
        .start()
        .unwrap();
    let pages = student_pages();
    assert!(
        pages.len() > 20,
        "only {} student pages in SUMMARY.md",
        pages.len()
    );
    let mut problems = Vec::new();
    // A few pages per browser run: one run for all of them would need a
    // long virtual-time budget, one run per page costs a browser start each.
    for batch in pages.chunks(12) {
        let url = format!(
            "http://{}/fit-check.html?{}",
            server.addr(),
            batch.join(",")
        );
        let dom = run_browser(
            &browser,
            &[
                "--window-size=1280,900".into(),
                "--virtual-time-budget=30000".into(),
                "--dump-dom".into(),
                url,
            ],
        );
        let title = page_title(&dom)
            .map(|title| {
                title
                    .replace("&amp;", "&")
                    .replace("&quot;", "\"")
                    .replace("&gt;", ">")
                    .replace("&lt;", "<")
            })
            .unwrap_or_default();
        let Some(report) = title.strip_prefix("done;") else {
            problems.push(format!(
                "{batch:?}: the check page did not finish: {title:?}"
            ));
            continue;
        };
        let checked = report.split(";;").count();
        if checked != batch.len() {
            problems.push(format!(
                "checked {checked} of {} pages: {report}",
                batch.len()
            ));
        }
        for entry in report.split(";;") {
            if !entry.ends_with("=ok") {
                problems.push(entry.to_string());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&book);
    assert!(
        problems.is_empty(),
        "cut off on a 1280 px screen (wrap it in book/theme/lsbaws.css, record it narrower, or make the table narrower):\n  {}",
        problems.join("\n  ")
    );
}

/// The first browser on PATH, or a failure that says how to get one.
fn find_browser() -> String {
    for name in BROWSERS {
        let found = Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if found.is_ok_and(|status| status.success()) {
            return name.to_string();
        }
    }
    panic!(
        "no headless browser found (tried {BROWSERS:?}): this test drives a real Chromium. \
         Install it with `sudo apt-get install -y chromium` (Debian/Ubuntu), or skip this test \
         by running `cargo test` without `--include-ignored`"
    );
}

/// Load a check page (10 s of the browser's virtual time for its scripts)
/// and return the DOM it dumped and the page's `<title>`, where the check
/// page writes what it found (empty if it has none).
fn load_check_page(browser: &str, url: String) -> (String, String) {
    let dom = run_browser(
        browser,
        &[
            "--virtual-time-budget=10000".into(),
            "--dump-dom".into(),
            url,
        ],
    );
    let title = page_title(&dom).unwrap_or_default();
    (dom, title)
}

/// The `<title>` of a page the browser dumped: the check pages write what
/// they found there.
fn page_title(dom: &str) -> Option<String> {
    dom.split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(title, _)| title.to_string())
}

/// The value of `key` in a check page's title (`key=value;key=value`), or
/// `?` when the page did not report it.
fn title_field(title: &str, key: &str) -> String {
    title
        .split(';')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or("?")
        .to_string()
}

/// Run the browser headless on `args` with a fresh profile, and return
/// what it printed on stdout. Kills it (its whole process group) if it
/// takes longer than [`BROWSER_TIMEOUT`].
fn run_browser(browser: &str, args: &[String]) -> String {
    use std::os::unix::process::CommandExt;
    let scratch = ScratchDir::new("browser").unwrap();
    let stdout_path = scratch.path().join("stdout");
    let stderr_path = scratch.path().join("stderr");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox", // the tests run as root, where the sandbox refuses to start
            "--disable-gpu",
            "--disable-quic",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        ))
        .args(args)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .process_group(0) // the browser's helper processes go with it
        .spawn()
        .unwrap_or_else(|e| panic!("starting {browser} failed: {e}"));
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let group = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!("{browser} {args:?} took more than {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert!(
        status.success(),
        "{browser} {args:?} failed ({status}):\n{stderr}"
    );
    std::fs::read_to_string(&stdout_path).unwrap_or_default()
}

/// How many different RGB colours the PNG at `path` has.
fn distinct_colours(path: &Path) -> usize {
    let file =
        File::open(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    let mut decoder = png::Decoder::new(file);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    let channels = frame.color_type.samples();
    let colours: HashSet<&[u8]> = pixels[..frame.buffer_size()]
        .chunks(channels)
        .map(|pixel| &pixel[..channels.min(3)])
        .collect();
    colours.len()
}

fn count_images(page: &Path) -> usize {
    std::fs::read_to_string(page)
        .unwrap()
        .matches("<img ")
        .count()
}

/// A copy of the sample site with one page of a test's added.
fn site_with_page(label: &str, name: &str, page: &str) -> ScratchDir {
    let site = ScratchDir::new(label).unwrap();
    copy_dir(&default_root(), site.path());
    std::fs::write(site.path().join(name), page).unwrap();
    site
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A page that fetches a file twice: the second time with the cache mode a
/// reload uses (`no-cache`: use the cached copy only once the server says
/// it is current), and writes both statuses into its title.
const REVALIDATE_PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>not loaded</title></head>
<body>
<script>
(async () => {
  const first = await fetch("/style.css");
  await first.text();
  const again = await fetch("/style.css", { cache: "no-cache" });
  const text = await again.text();
  document.title = "first=" + first.status + ";again=" + again.status + ";bytes=" + text.length;
})();
</script>
</body></html>
"#;

/// Chromium revalidates a file it has cached, as a reload does: it sends
/// the validators back, the server answers `304 Not Modified` (its log
/// says so), and the page still gets the file, from the browser's cache.
#[test]
#[ignore = "needs headless Chromium (apt-get install -y chromium); run with `cargo test -- --include-ignored`"]
fn a_browser_revalidating_its_cached_copy_gets_304() {
    let browser = find_browser();
    let site = site_with_page("browser-revalidate", "revalidate.html", REVALIDATE_PAGE);
    let css = std::fs::metadata(site.path().join("style.css"))
        .unwrap()
        .len();
    let server = Launch::new("webserver4g")
        .arg("--root")
        .arg(site.path())
        .start()
        .unwrap();
    let (dom, title) = load_check_page(
        &browser,
        format!("http://{}/revalidate.html", server.addr()),
    );
    assert_eq!(title, format!("first=200;again=200;bytes={css}"), "{dom}");
    let log = server.stdout();
    assert!(
        log.contains("\"GET /style.css HTTP/1.1\" 200")
            && log.contains("\"GET /style.css HTTP/1.1\" 304 0"),
        "the server's log shows no revalidation:\n{log}"
    );
}
