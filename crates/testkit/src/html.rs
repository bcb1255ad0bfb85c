//! Reading our own pages in tests, without a browser.

/// The `value` of the first `<input name="NAME" ...>`, HTML entities decoded.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + 7;
    let end = v + tag[v..].find('"')?;
    Some(decode(&tag[v..end]))
}

/// The CSRF token of the first form on the page.
pub fn csrf(html: &str) -> String {
    input_value(html, "csrf_token").expect("page has a csrf_token field")
}

/// Minimal entity decoding for what askama escapes.
pub fn decode(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
