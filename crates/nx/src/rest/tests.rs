use super::*;

#[test]
fn error_message_prefers_detail_then_field_errors() {
    assert_eq!(
        error_message(r#"{"detail":"Invalid token."}"#),
        "Invalid token."
    );
    assert_eq!(
        error_message(r#"{"username":["This field is required."]}"#),
        "username: This field is required."
    );
    assert_eq!(error_message("Bad Gateway"), "Bad Gateway");
    assert_eq!(error_message(""), "no details");
}

#[test]
fn ice_server_urls_accept_string_or_list() {
    let c: WebrtcCredentials = serde_json::from_str(
        r#"{"status":"success","ice_servers":[{"urls":"stun:a"},{"urls":["turn:b"],"username":"u","credential":"c"}],"ttl":86400}"#,
    )
    .expect("parse");
    assert_eq!(c.ice_servers[0].urls, vec!["stun:a"]);
    assert_eq!(c.ice_servers[1].username.as_deref(), Some("u"));
}

#[test]
fn debug_output_hides_secrets_and_tokens() {
    let c = RestClient::new(RestConfig::new(
        "http://127.0.0.1:1",
        "app",
        "the-tenant-secret",
    ))
    .expect("client");
    let text = format!("{c:?}");
    assert!(!text.contains("the-tenant-secret"), "{text}");
    assert!(text.contains("<redacted>"));
}

#[test]
fn rejects_a_server_address_that_is_not_a_url() {
    assert!(matches!(
        RestClient::new(RestConfig::new("not a url", "k", "s")),
        Err(RestError::BadUrl(_))
    ));
}
