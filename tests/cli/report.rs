//! The HTML report: well-formed, escaped, self-contained, links resolve, and
//! (where Chromium is installed) it renders in a headless browser.

use std::collections::BTreeSet;

use crate::support::TestStudy;

fn study_with_nasty_text() -> TestStudy {
    let s = TestStudy::new();
    let yaml = String::from_utf8(s.read("qualdex.yaml")).unwrap();
    s.write(
        "qualdex.yaml",
        yaml.replace("codebooks: []", "codebooks: [cb.yaml]")
            .replace("title: Untitled study", "title: \"Risk & <reward>\""),
    );
    s.write(
        "cb.yaml",
        "challenges:\n  label: Challenges & <more>\n  codes:\n    risk: {label: Risk, rules: [{terms: [risk]}]}\n    money: {label: Money, rules: [{terms: [revenue]}]}\nroles:\n  codes:\n    broker: {rules: [{terms: [broker]}]}\n",
    );
    s.write("corpus/alfa/a.md", "---\ncase: Alfa\nrole: \"R&D <lead>\"\n---\nInterviewer: q?\n\nBo: <script>alert('x')</script> the risk & the revenue, \"quoted\".\n\nBo: A broker takes risk.\n");
    s.write("corpus/beta/b.md", "---\ncase: Beta\n---\nInterviewer: q?\n\nAl: Revenue first; risk later ]]> <!-- not a comment -->\n\nAl: ok\n");
    s
}

fn report(s: &TestStudy) -> String {
    s.ok(&["report"]);
    String::from_utf8(s.read("out/report.html")).unwrap()
}

#[test]
fn report_is_well_formed_escaped_and_self_contained() {
    let s = study_with_nasty_text();
    let html = report(&s);
    // Well-formed: the whole document parses as XML.
    let mut reader = quick_xml::Reader::from_str(&html);
    let mut depth = 0i64;
    let mut elements = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(_)) => {
                depth += 1;
                elements += 1;
            }
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Empty(_)) => elements += 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Err(e) => panic!("not well-formed at {}: {e}", reader.buffer_position()),
            _ => {}
        }
    }
    assert_eq!(depth, 0);
    assert!(elements > 50);
    // Escaped: transcript text never becomes markup.
    assert!(!html.contains("<script"), "a script tag leaked");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; the risk &amp; the revenue, &quot;quoted&quot;."));
    assert!(html.contains("]]&gt; &lt;!-- not a comment --&gt;"));
    assert!(html.contains("<title>Risk &amp; &lt;reward&gt;</title>"));
    // Self-contained: no external assets.
    for bad in ["<link", " src=", "@import", "url(", "href=\"http"] {
        assert!(!html.contains(bad), "external asset: {bad}");
    }
    // Sections and SVGs are there.
    for needle in [
        "id=\"corpus\"",
        "id=\"codebook\"",
        "id=\"heatmaps\"",
        "id=\"network\"",
        "id=\"quotes\"",
        "<svg",
        "<circle",
        "<line",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
}

#[test]
fn every_cell_links_to_its_passages() {
    let s = study_with_nasty_text();
    let html = report(&s);
    let ids: BTreeSet<&str> = html
        .split(" id=\"")
        .skip(1)
        .map(|x| x.split('"').next().unwrap())
        .collect();
    let hrefs: Vec<&str> = html
        .split("href=\"#")
        .skip(1)
        .map(|x| x.split('"').next().unwrap())
        .collect();
    assert!(hrefs.len() > 10);
    for h in &hrefs {
        assert!(ids.contains(h), "dangling link #{h}");
    }
    // The Alfa × risk cell (2 passages) links to a section listing both.
    let cell = html
        .split("<section class=\"cell\"")
        .find(|s| s.contains("challenges/risk × Alfa (2)"))
        .expect("cell section");
    assert_eq!(cell.matches("<blockquote>").count(), 2);
    // Numbers are printed inside heatmap cells.
    assert!(html.contains(">2</text></a>"));
}

/// A cell lists at most `passages_per_cell` passages (the flag, else the
/// study file), with its full count, the command listing them all, and no
/// dangling link; that command lists exactly the cell's passages.
#[test]
fn a_cell_lists_a_bounded_number_of_passages_and_says_how_to_see_all() {
    let s = study_with_nasty_text();
    s.write(
        "corpus/alfa/c.md",
        "---\ncase: Alfa\n---\nAl: risk one.\n\nAl: risk two.\n\nAl: risk three.\n",
    );
    let full = report(&s);
    let section = |html: &str| -> String {
        html.split("<section class=\"cell\"")
            .find(|x| x.contains("challenges/risk × Alfa (5)"))
            .expect("cell section")
            .split("</section>")
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(section(&full).matches("<blockquote>").count(), 5);
    assert!(!full.contains("passages listed here"));
    for (args, yaml) in [
        (vec!["report", "--passages-per-cell", "2"], None),
        (vec!["report"], Some("report:\n  passages_per_cell: 2\n")),
    ] {
        if let Some(y) = yaml {
            let config = String::from_utf8(s.read("qualdex.yaml")).unwrap();
            let config = config.split("report:").next().unwrap().to_string();
            s.write("qualdex.yaml", config + y);
        }
        s.ok(&args);
        let html = String::from_utf8(s.read("out/report.html")).unwrap();
        let cell = section(&html);
        assert_eq!(cell.matches("<blockquote>").count(), 2, "{args:?}");
        let command =
            "qualdex table matrix --rows challenges --cols case --explain challenges/risk Alfa";
        assert!(
            cell.contains(&format!(
                "2 of 5 passages listed here; all of them: <code>{command}</code>"
            )),
            "{cell}"
        );
        // Every link still lands on something the page holds.
        let ids: BTreeSet<&str> = html
            .split(" id=\"")
            .skip(1)
            .map(|x| x.split('"').next().unwrap())
            .collect();
        for h in html.split("href=\"#").skip(1) {
            let h = h.split('"').next().unwrap();
            assert!(ids.contains(h), "dangling link #{h}");
        }
        // The command shown lists the cell's five passages.
        let words: Vec<&str> = command.split(' ').skip(1).collect();
        let listed = s.ok(&words);
        assert_eq!(
            listed.lines().filter(|l| !l.starts_with(' ')).count(),
            5,
            "{listed}"
        );
    }
}

#[test]
fn report_is_deterministic() {
    let s = study_with_nasty_text();
    let a = report(&s);
    std::fs::remove_dir_all(s.path().join(".qualdex")).unwrap();
    let b = report(&s);
    assert_eq!(a, b);
}

fn chromium() -> Option<std::path::PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("note: Chromium is not installed here; .ci/run installs it for this smoke test");
        return;
    };
    let s = study_with_nasty_text();
    report(&s);
    let page = s.path().join("out/report.html");
    let shot = s.path().join("out/report.png");
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,1600",
            &format!("--user-data-dir={}", profile.path().display()),
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", page.display()),
        ])
        .output()
        .expect("run chromium");
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 10_000,
        "screenshot too small to show a page: {} bytes",
        png.len()
    );
}
