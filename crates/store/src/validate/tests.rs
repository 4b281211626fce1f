use super::*;

#[test]
fn slugs() {
    assert_eq!(slug("slug", " lemgo ").unwrap(), "lemgo");
    assert!(slug("slug", "Lemgo").is_err());
    assert!(slug("slug", "1abc").is_err());
    assert!(slug("slug", "a").is_err());
    assert!(slug("slug", "abc-").is_err());
    assert!(slug("slug", "a b").is_err());
}

#[test]
fn cidrs_must_be_networks() {
    assert_eq!(
        cidr("c", "198.18.0.0/24").unwrap().to_string(),
        "198.18.0.0/24"
    );
    assert_eq!(
        cidr("c", "198.18.0.7").unwrap().to_string(),
        "198.18.0.7/32"
    );
    let error = cidr("c", "198.18.0.7/24").unwrap_err();
    assert!(error.message.contains("198.18.0.0/24"), "{error:?}");
    assert!(cidr("c", "198.18.0.0/33").is_err());
    assert!(cidr("c", "nonsense").is_err());
    assert!(address_pool("p", "10.0.0.0/30").is_err());
    assert!(address_pool("p", "10.0.0.0/29").is_ok());
}

#[test]
fn ports() {
    let ranges = port_ranges("ports", &["443".into(), "80, 8000-8100".into()]).unwrap();
    assert_eq!(format_port_ranges(&ranges), vec!["80", "443", "8000-8100"]);
    assert!(port_ranges("ports", &["0".into()]).is_err());
    assert!(port_ranges("ports", &["70000".into()]).is_err());
    // A reversed range can only mean one thing (the document's pattern
    // allows it).
    assert_eq!(
        port_ranges("ports", &["90-80".into()]).unwrap(),
        port_ranges("ports", &["80-90".into()]).unwrap()
    );
    assert!(port_ranges("ports", &["http".into()]).is_err());
    assert!(port_ranges("ports", &[]).unwrap().is_empty());
}

#[test]
fn keys_and_endpoints() {
    assert!(public_key("k", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=").is_ok());
    assert!(public_key("k", "abc").is_err());
    // Low-order points: all zeros, 1, an order-8 point, and p + 1 with the
    // top bit set (X25519 ignores it).
    for low in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=",
        "7v////////////////////////////////////////8=",
    ] {
        let error = public_key("k", low).unwrap_err();
        assert!(error.message.contains("low-order"), "{low}: {error:?}");
    }
    assert!(endpoint("e", "vpn.example.org:51820").is_ok());
    assert!(endpoint("e", "[fd00::1]:51820").is_ok());
    assert!(endpoint("e", "vpn.example.org").is_err());
}

#[test]
fn usernames_and_emails() {
    assert_eq!(
        username("u", "J.Smith@Lemgo.de").unwrap(),
        "j.smith@lemgo.de"
    );
    assert!(username("u", "a b").is_err());
    assert!(email("e", Some("x@y.de")).is_ok());
    assert!(email("e", Some("x@y")).is_err());
    assert_eq!(email("e", None).unwrap(), "");
}

#[test]
fn web_upstreams_are_plain_http_urls() {
    assert_eq!(web_upstream("u", " ").unwrap(), "");
    assert_eq!(
        web_upstream("u", "http://198.18.10.5:8080/").unwrap(),
        "http://198.18.10.5:8080"
    );
    assert_eq!(
        web_upstream("u", "https://files.example/app/").unwrap(),
        "https://files.example/app"
    );
    for bad in [
        "ftp://x/",
        "http://user:pw@x/",
        "http://x/?a=1",
        "http://x/#f",
        "not a url",
        "javascript:alert(1)",
    ] {
        assert!(web_upstream("u", bad).is_err(), "{bad} accepted");
    }
}

#[test]
fn refused_keys_give_no_contributory_key_exchange() {
    use base64::Engine as _;
    let secret = x25519_dalek::StaticSecret::random();
    for low in [
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "4Ot6fDtBuK4WVuP68Z/EatoJjeucMrH9hmIFFl9JuAA=",
        "X5yVvKNQjCSx0LFVnIPvWwREXMRYHI6G2CJO3dCfEVc=",
        "7P///////////////////////////////////////38=",
        "7f///////////////////////////////////////38=",
        "7v///////////////////////////////////////38=",
    ] {
        assert!(public_key("k", low).is_err(), "{low}");
        let bytes: [u8; 32] = base64::engine::general_purpose::STANDARD
            .decode(low)
            .unwrap()
            .try_into()
            .unwrap();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(bytes));
        assert!(!shared.was_contributory(), "{low}");
    }
    let honest = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::random());
    let encoded = base64::engine::general_purpose::STANDARD.encode(honest.as_bytes());
    assert!(public_key("k", &encoded).is_ok());
}

/// Strings made from a pattern of the OpenAPI document (without its
/// anchors, which the generator does not take).
fn from_pattern(pattern: &str) -> proptest::string::RegexGeneratorStrategy<String> {
    let inner = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .unwrap_or(pattern);
    proptest::string::string_regex(inner).unwrap()
}

proptest::proptest! {
    #[test]
    fn what_the_patterns_allow_is_accepted(
        name_value in from_pattern(&patterns::name(100)),
        text in from_pattern(&patterns::optional_text(60)),
        slug_value in from_pattern(&patterns::slug()),
        user in from_pattern(&patterns::username()),
        endpoint_value in from_pattern(&patterns::endpoint()),
        ports in from_pattern(&patterns::port_ranges()),
        key in from_pattern(&patterns::public_key()),
        network in from_pattern(&patterns::cidr()),
        pool in from_pattern(&patterns::address_pool()),
    ) {
        proptest::prop_assert!(name("f", &name_value, 100).is_ok(), "{name_value:?}");
        proptest::prop_assert!(optional_text("f", Some(&text), 60).is_ok(), "{text:?}");
        proptest::prop_assert!(slug("f", &slug_value).is_ok(), "{slug_value:?}");
        proptest::prop_assert!(endpoint("f", &endpoint_value).is_ok(), "{endpoint_value:?}");
        proptest::prop_assert!(port_ranges("f", std::slice::from_ref(&ports)).is_ok(), "{ports:?}");
        proptest::prop_assert!(cidr("f", &network).is_ok(), "{network:?}");
        proptest::prop_assert!(address_pool("f", &pool).is_ok(), "{pool:?}");
        // Usernames: ASCII ones (Unicode letters differ at the edges
        // between Rust's and Python's classes).
        if user.is_ascii() {
            proptest::prop_assert!(username("f", &user).is_ok(), "{user:?}");
        }
        // Keys: all but the seven low-order points.
        let low_order = public_key("f", &key).is_err_and(|v| v.message.contains("low-order"));
        proptest::prop_assert!(public_key("f", &key).is_ok() || low_order, "{key:?}");
    }
}
