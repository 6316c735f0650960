//! Name conventions shared by both macros: default ids (kebab-case), default display names (Title Case),
//! id validation and doc-comment extraction.

/// Splits an identifier (`extract_text`, `DocumentProcessor`, `HTTPFetch2`) into lowercase words.
fn words(ident: &str) -> Vec<String> {
    let ident = ident.strip_prefix("r#").unwrap_or(ident);
    let chars: Vec<char> = ident.chars().collect();
    let mut words = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' || c == '-' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_uppercase() && !current.is_empty() {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next_is_lower)
            {
                words.push(std::mem::take(&mut current));
            }
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// The default id of a stage or workflow: the identifier in kebab-case (`extract_text` → `extract-text`).
pub fn kebab_case(ident: &str) -> String {
    words(ident).join("-")
}

/// The default display name: the identifier in Title Case (`extract_text` → `Extract Text`).
pub fn title_case(ident: &str) -> String {
    words(ident)
        .iter()
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The longest id accepted; ids become JSON keys and blob-key path segments.
pub const MAX_ID_LEN: usize = 128;

/// Checks that `id` can be used as a stage or workflow id: 1 to 128 ASCII letters, digits, `-` or `_`,
/// starting with a letter or digit. Ids are path segments of blob keys and keys of JSON objects, so anything
/// else (spaces, `/`, `.`) is refused. Returns the reason when the id is invalid.
pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("an id cannot be empty".to_owned());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!(
            "an id is at most {MAX_ID_LEN} characters long; this one has {}",
            id.len()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(format!(
            "{bad:?} is not allowed in an id; use ASCII letters, digits, `-` and `_` (for example \"extract-text\")"
        ));
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("an id must start with an ASCII letter or digit".to_owned());
    }
    Ok(())
}

/// The text of the `///` doc comments among `attrs`, with the conventional leading space removed, or `None`.
pub fn doc_text(attrs: &[syn::Attribute]) -> Option<String> {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            let value = s.value();
            for line in value.split('\n') {
                lines.push(line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned());
            }
        }
    }
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// Levenshtein distance, for "did you mean" hints on misspelt attribute keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The message for an unknown key: lists the accepted keys and suggests the closest one.
pub fn unknown_key_message(what: &str, key: &str, known: &[&str]) -> String {
    let list = known
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let closest = known.iter().map(|k| (edit_distance(key, k), *k)).min();
    match closest {
        Some((distance, k)) if distance <= 2 => {
            format!("unknown {what} `{key}`; did you mean `{k}`? (expected one of {list})")
        }
        _ => format!("unknown {what} `{key}` (expected one of {list})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_of_snake_and_camel_identifiers() {
        assert_eq!(kebab_case("extract_text"), "extract-text");
        assert_eq!(kebab_case("DocumentProcessor"), "document-processor");
        assert_eq!(kebab_case("HTTPFetch"), "http-fetch");
        assert_eq!(kebab_case("stage2_run"), "stage2-run");
        assert_eq!(kebab_case("r#type"), "type");
        assert_eq!(kebab_case("__private_helper_"), "private-helper");
    }

    #[test]
    fn title_case_of_identifiers() {
        assert_eq!(title_case("extract_text"), "Extract Text");
        assert_eq!(title_case("DocumentProcessor"), "Document Processor");
        assert_eq!(title_case("summarize"), "Summarize");
    }

    #[test]
    fn ids_are_validated() {
        assert!(validate_id("extract-text").is_ok());
        assert!(validate_id("Stage_2").is_ok());
        assert_eq!(validate_id("").unwrap_err(), "an id cannot be empty");
        assert!(
            validate_id("has space")
                .unwrap_err()
                .contains("' ' is not allowed")
        );
        assert!(
            validate_id("a/b")
                .unwrap_err()
                .contains("'/' is not allowed")
        );
        assert!(validate_id("-lead").unwrap_err().contains("must start"));
        assert!(
            validate_id(&"x".repeat(129))
                .unwrap_err()
                .contains("at most 128")
        );
    }

    #[test]
    fn doc_text_joins_lines_and_strips_the_leading_space() {
        let item: syn::ItemFn = syn::parse_quote! {
            /// Extracts text.
            ///
            ///   Indented line.
            #[inline]
            fn f() {}
        };
        assert_eq!(
            doc_text(&item.attrs).as_deref(),
            Some("Extracts text.\n\n  Indented line.")
        );
        let bare: syn::ItemFn = syn::parse_quote! { fn f() {} };
        assert_eq!(doc_text(&bare.attrs), None);
    }

    #[test]
    fn unknown_keys_suggest_the_closest_known_key() {
        let msg = unknown_key_message("`#[stage]` attribute", "dep", &["id", "deps"]);
        assert_eq!(
            msg,
            "unknown `#[stage]` attribute `dep`; did you mean `deps`? (expected one of `id`, `deps`)"
        );
        let msg = unknown_key_message("key", "zzzzzz", &["id"]);
        assert_eq!(msg, "unknown key `zzzzzz` (expected one of `id`)");
    }
}
