//! Flatfile fields Wharf has no counterpart of, refused (422) when they ask for something
//! else than what Wharf does, instead of answered 200 and kept nowhere.

use crate::web::error::AppError;
use serde_json::Value;

/// `guestAuthentication`: Wharf signs guests in only with a link mailed to each
/// (`magic_link`); absent or `null` is that too.
pub fn guest_authentication(given: Option<&Value>) -> Result<(), AppError> {
    let refuse = |message: &str| Err(AppError::invalid("guestAuthentication", message));
    let Some(given) = given.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let Some(list) = given.as_array() else {
        return refuse("guestAuthentication must be a list, such as [\"magic_link\"]");
    };
    if list.iter().any(|v| v.as_str() == Some("shared_link")) {
        return refuse(
            "Wharf has no shared links: each guest signs in with their own mailed link (\"magic_link\"); invite guests with POST /v1/guests",
        );
    }
    match !list.is_empty() && list.iter().all(|v| v.as_str() == Some("magic_link")) {
        true => Ok(()),
        false => refuse("guestAuthentication takes only \"magic_link\", the way Wharf signs guests in"),
    }
}

/// Members an update cannot change (where an object lives, what a job reads): given with
/// another value than the object's own, 422 naming it, where it was answered 200 and left
/// as it was (probe 66f D3: a client moving a space or a file was told it worked).
pub fn fixed(what: &str, given: &[(&str, Option<&Value>, Option<&str>)]) -> Result<(), AppError> {
    for (key, value, own) in given {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        if value.as_str() != *own {
            return Err(AppError::invalid(
                key,
                format!("{what}'s `{key}` does not change; make a new one where it should be instead"),
            ));
        }
    }
    Ok(())
}

/// An environment's `namespaces`: Wharf keeps namespaces on spaces (and workbooks) only.
pub fn environment_namespaces(given: Option<&Value>) -> Result<(), AppError> {
    match given {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(list)) if list.is_empty() => Ok(()),
        Some(_) => Err(AppError::invalid(
            "namespaces",
            "Wharf keeps no namespaces on an environment: give a space its `namespace` instead",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_mailed_links_pass() {
        assert!(guest_authentication(None).is_ok());
        assert!(guest_authentication(Some(&Value::Null)).is_ok());
        assert!(guest_authentication(Some(&json!(["magic_link"]))).is_ok());
        for refused in [
            json!(["shared_link"]),
            json!(["magic_link", "shared_link"]),
            json!([]),
            json!("magic_link"),
            json!(["sso"]),
        ] {
            assert!(guest_authentication(Some(&refused)).is_err(), "{refused}");
        }
    }

    #[test]
    fn environments_keep_no_namespaces() {
        assert!(environment_namespaces(Some(&json!([]))).is_ok());
        assert!(environment_namespaces(Some(&json!(["portal"]))).is_err());
    }
}
