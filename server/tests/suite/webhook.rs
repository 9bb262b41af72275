//! The SMS bridge: a real HTTP receiver on a free port gets signed JSON, and
//! a provider hiccup is retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use loyalty::brands::Language;
use loyalty::marketing::delivery::{Purpose, Sender, Sms};
use loyalty::marketing::templates::{default_sign_in, Var};
use loyalty::members::phone::Phone;
use server::sms::webhook::{signature, WebhookSender, SIGNATURE_HEADER, TIMESTAMP_HEADER};

type Seen = Arc<Mutex<Vec<(HeaderMap, String)>>>;

/// A receiver that answers the given statuses in turn (then 200).
async fn receiver(statuses: Vec<u16>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let answers = Arc::new(Mutex::new(statuses));
    let app = axum::Router::new().route(
        "/sms",
        post({
            let seen = seen.clone();
            move |headers: HeaderMap, body: String| {
                let seen = seen.clone();
                let answers = answers.clone();
                async move {
                    seen.lock().unwrap().push((headers, body));
                    let mut a = answers.lock().unwrap();
                    let status = if a.is_empty() { 200 } else { a.remove(0) };
                    StatusCode::from_u16(status).unwrap()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn message() -> Sms {
    let body = default_sign_in(Language::ZhCn);
    let value = |v: Var| (v == Var::Code).then(|| "042917".to_owned());
    Sms {
        phone: Phone::parse("86", "13800138000").unwrap(),
        brand_slug: "demo".into(),
        brand_name: "山野小馆".into(),
        signature: "山野".into(),
        language: Language::ZhCn,
        purpose: Purpose::SignIn,
        template_code: Some("SMS_465000001".into()),
        params: body.params(value),
        text: body.render(value),
    }
}

const SECRET: &str = "webhook-shared-secret";

#[tokio::test]
async fn the_code_arrives_as_signed_json() {
    let (url, seen) = receiver(vec![]).await;
    WebhookSender::new(url, SECRET.into())
        .send(&message())
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let (headers, body) = &seen[0];
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["phone"], "+8613800138000");
    assert_eq!(json["code"], "042917");
    assert_eq!(json["brand"], "demo");
    assert_eq!(json["template"], "login_code");
    assert_eq!(json["purpose"], "sign_in");
    assert_eq!(json["template_code"], "SMS_465000001");
    assert_eq!(json["params"]["code"], "042917");
    assert_eq!(
        json["text"],
        "您的验证码为042917，5分钟内有效，请勿告诉他人。"
    );
    assert_eq!(
        json["signature"], "山野",
        "the provider's signature for the brand"
    );
    let timestamp = headers[TIMESTAMP_HEADER].to_str().unwrap();
    let expected = signature(SECRET, timestamp, body.as_bytes());
    assert_eq!(headers[SIGNATURE_HEADER].to_str().unwrap(), expected);
    assert_ne!(
        signature("another secret", timestamp, body.as_bytes()),
        expected
    );
}

#[tokio::test]
async fn a_provider_hiccup_is_retried_and_a_refusal_is_not() {
    let (url, seen) = receiver(vec![503, 502]).await;
    let sender = WebhookSender::new(url, SECRET.into()).with_backoff(Duration::from_millis(10));
    sender.send(&message()).await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);

    let (url, seen) = receiver(vec![400]).await;
    let sender = WebhookSender::new(url, SECRET.into()).with_backoff(Duration::from_millis(10));
    assert!(sender.send(&message()).await.is_err());
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_provider_that_keeps_failing_is_tried_three_times_then_given_up() {
    let (url, seen) = receiver(vec![503; 10]).await;
    let sender = WebhookSender::new(url, SECRET.into()).with_backoff(Duration::from_millis(10));
    let err = sender.send(&message()).await.unwrap_err();
    assert_eq!(seen.lock().unwrap().len(), 3, "three tries, no more");
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(err.outcome(), "transient");
    // Each try is signed afresh: a provider can check every one.
    for (headers, body) in seen.lock().unwrap().iter() {
        let timestamp = headers[TIMESTAMP_HEADER].to_str().unwrap();
        assert_eq!(
            headers[SIGNATURE_HEADER].to_str().unwrap(),
            signature(SECRET, timestamp, body.as_bytes())
        );
    }
}

#[tokio::test]
async fn an_unreachable_provider_fails_after_its_tries() {
    let sender = WebhookSender::new("http://127.0.0.1:9/sms".into(), SECRET.into())
        .with_backoff(Duration::from_millis(10));
    let err = sender.send(&message()).await.unwrap_err();
    assert_eq!(err.reason(), "provider_unreachable", "{err}");
}
