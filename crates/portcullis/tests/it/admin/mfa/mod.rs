//! Second factors in administration: the user page's "Two-step
//! verification" (require one, remove one, reset them), the dashboard's
//! count of administrators without one, the same through the API and the
//! command line, and the console's re-authentication asking for the
//! administrator's own second factor after the password.

mod console;
mod faces;
mod reauth;

use testkit::{html, TestServer};

/// POSTs `fields` to `action` with the CSRF token of the console.
pub async fn post(
    srv: &TestServer,
    c: &reqwest::Client,
    action: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (_, page) = srv.get(c, "/admin").await;
    let token = html::csrf(&page);
    let mut form = fields.to_vec();
    form.push(("csrf_token", &token));
    c.post(srv.at(action)).form(&form).send().await.unwrap()
}

/// The form `<form ... id="ID">` of `page`: its action and hidden fields.
pub fn form(page: &str, id: &str) -> (String, Vec<(String, String)>) {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no form #{id} in:\n{page}"));
    let start = page[..at].rfind("<form").unwrap();
    let end = at + page[at..].find("</form>").unwrap();
    let f = &page[start..end];
    let attr = |tag: &str, name: &str| {
        let needle = format!("{name}=\"");
        tag.find(&needle).map(|i| {
            let v = &tag[i + needle.len()..];
            html::decode(&v[..v.find('"').unwrap()])
        })
    };
    let action = attr(f, "action").unwrap();
    let hidden = f
        .split("<input")
        .skip(1)
        .filter(|t| t.contains("type=\"hidden\""))
        .map(|t| {
            let t = &t[..t.find('>').unwrap()];
            (
                attr(t, "name").unwrap(),
                attr(t, "value").unwrap_or_default(),
            )
        })
        .collect();
    (action, hidden)
}

/// Submits the form `id` of `page` with its hidden fields and `extra`.
pub async fn submit_form(
    srv: &TestServer,
    c: &reqwest::Client,
    page: &str,
    id: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let (action, mut fields) = form(page, id);
    fields.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    c.post(srv.at(&action)).form(&fields).send().await.unwrap()
}

/// The account's second factors, from the database.
pub async fn factors(srv: &TestServer, id: &str) -> core_auth::mfa::Factors {
    let id = id.to_string();
    srv.with_db(move |c| core_auth::mfa::factors(c, &id).unwrap())
        .await
}

pub async fn disabled(srv: &TestServer, id: &str) -> bool {
    let id = id.to_string();
    srv.with_db(move |c| {
        core_auth::users::find_by_id(c, &id)
            .unwrap()
            .unwrap()
            .disabled
    })
    .await
}

/// Gives `user_id` a passkey named `name` straight in the database (a
/// row as registration stores it, without a usable credential: enough to
/// be listed and removed, not to sign in with); returns its id.
pub async fn insert_passkey(srv: &TestServer, user_id: &str, name: &str) -> String {
    use core_auth::db::schema::passkeys;
    use diesel::prelude::*;
    let (uid, name) = (user_id.to_string(), name.to_string());
    let id = format!("pk-{}-{}", &uid[..8], name.to_lowercase().replace(' ', "-"));
    let pid = id.clone();
    let now = srv.ctx.now();
    srv.with_db(move |c| {
        diesel::insert_into(passkeys::table)
            .values((
                passkeys::id.eq(&pid),
                passkeys::user_id.eq(&uid),
                passkeys::name.eq(&name),
                passkeys::credential_id.eq(format!("cred-{pid}")),
                passkeys::credential.eq("{}"),
                passkeys::created_at.eq(now),
            ))
            .execute(c)
            .unwrap();
    })
    .await;
    id
}
