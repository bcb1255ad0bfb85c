//! Editing the profile claims (OpenID Connect Core §5.1) on the account page.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use askama::Template;
use core_auth::error::ValidationErrors;
use core_auth::oidc::claims::{Address, Profile};
use core_auth::users;
use core_auth::CoreError;
use serde::Deserialize;
use web_kit::context::AppContext;
use web_kit::csrf;
use web_kit::errors::PageError;
use web_kit::form::Form;
use web_kit::identity::CurrentUser;
use web_kit::layout::Layout;
use web_kit::util::{render, see_other};

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    layout: Layout,
    csrf: String,
    name: String,
    p: Profile,
    errors: ValidationErrors,
}

impl ProfilePage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field)
    }
}

pub async fn show(session: Session, user: CurrentUser) -> Result<HttpResponse, PageError> {
    let csrf = csrf::token(&session)?;
    let page = ProfilePage {
        layout: Layout::for_user("Your profile", &user, &csrf),
        csrf,
        name: user.user.user.name.clone(),
        p: Profile::parse(&user.user.user.profile),
        errors: ValidationErrors::default(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ProfileForm {
    csrf_token: String,
    name: String,
    given_name: String,
    family_name: String,
    middle_name: String,
    nickname: String,
    preferred_username: String,
    profile: String,
    picture: String,
    website: String,
    gender: String,
    birthdate: String,
    zoneinfo: String,
    locale: String,
    phone_number: String,
    street_address: String,
    locality: String,
    region: String,
    postal_code: String,
    country: String,
}

pub async fn submit(
    ctx: web::Data<AppContext>,
    session: Session,
    user: CurrentUser,
    form: Form<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    csrf::verify(&session, &form.csrf_token)?;
    let f = form.into_inner();
    let old = Profile::parse(&user.user.user.profile);
    let candidate = Profile {
        given_name: f.given_name,
        family_name: f.family_name,
        middle_name: f.middle_name,
        nickname: f.nickname,
        preferred_username: f.preferred_username,
        profile: f.profile,
        picture: f.picture,
        website: f.website,
        gender: f.gender,
        birthdate: f.birthdate,
        zoneinfo: f.zoneinfo,
        locale: f.locale,
        // A changed number is no longer verified.
        phone_number_verified: old.phone_number_verified
            && old.phone_number == f.phone_number.trim(),
        phone_number: f.phone_number,
        address: Address {
            formatted: String::new(),
            street_address: f.street_address,
            locality: f.locality,
            region: f.region,
            postal_code: f.postal_code,
            country: f.country,
        },
    };
    let name = f.name.clone();
    let result = match candidate.clone().normalized() {
        Ok(mut p) => {
            p.address.formatted = [
                p.address.street_address.as_str(),
                p.address.locality.as_str(),
                p.address.region.as_str(),
                p.address.postal_code.as_str(),
                p.address.country.as_str(),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("\n");
            let (uid, now) = (user.id().to_string(), ctx.now());
            ctx.db(move |c| users::update_profile(c, &uid, &name, &p, now))
                .await
        }
        Err(v) => Err(CoreError::Validation(v)),
    };
    match result {
        Ok(_) => Ok(see_other("/account?saved=1")),
        Err(CoreError::Validation(errors)) => {
            let csrf = csrf::token(&session)?;
            let page = ProfilePage {
                layout: Layout::for_user("Your profile", &user, &csrf),
                csrf,
                name: f.name,
                p: candidate,
                errors,
            };
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(e.into()),
    }
}
