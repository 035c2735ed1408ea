//! The dataset card — the bundle's bilingual `README.md`, written by prepare — as HTML for the
//! contest's overview page (pure). `CommonMark` with tables; nothing in the source reaches the
//! page as markup of its own: raw HTML is shown as text (escaped), images as their text only
//! (the page may load no other site's images), links only to the web, mail or this site (no
//! `javascript:`), and table alignment is dropped because pulldown-cmark writes it as an inline
//! `style`, which the Content-Security-Policy refuses.

use pulldown_cmark::{Alignment, CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// The card as HTML, safe to insert into a page as it is.
pub fn html(markdown: &str) -> String {
    let mut dropped_link = false;
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).filter_map(|e| {
        Some(match e {
            Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
            Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
            Event::Start(Tag::Table(columns)) => Event::Start(Tag::Table(vec![Alignment::None; columns.len()])),
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => return None,
            Event::Start(Tag::Link { dest_url, .. }) if !safe_link(&dest_url) => {
                dropped_link = true;
                return None;
            }
            Event::End(TagEnd::Link) if dropped_link => {
                dropped_link = false;
                return None;
            }
            other => other,
        })
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

/// A link the card may keep: http(s), mail, or a path or fragment of this site.
fn safe_link(url: &CowStr<'_>) -> bool {
    let lower = url.trim_start().to_ascii_lowercase();
    match lower.split_once(':') {
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => matches!(scheme, "http" | "https" | "mailto"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html_and_raw_html_stays_text() {
        let out = html(
            "# 数据集 Dataset\n\n<script>alert(1)</script>\n\nText with <b onclick=\"x()\">inline</b> HTML.\n\n\
             | a | b |\n|---|---:|\n| `x` | 1 |\n\n![pixel](https://tracker.example/p.png)\n\n\
             [ok](https://example.org) [bad](javascript:alert(1)) [here](#files)\n",
        );
        assert!(out.contains("<h1>数据集 Dataset</h1>"), "{out}");
        assert!(out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{out}");
        assert!(!out.contains("<script") && !out.contains("<b "), "{out}");
        assert!(out.contains("<table>") && out.contains("<td><code>x</code></td>"), "{out}");
        assert!(!out.contains("style="), "{out}");
        assert!(!out.contains("<img") && out.contains("pixel"), "{out}");
        assert!(out.contains("<a href=\"https://example.org\">ok</a>") && out.contains("<a href=\"#files\">here</a>"));
        assert!(!out.contains("javascript") && out.contains("bad"), "{out}");
    }
}
