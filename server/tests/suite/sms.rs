//! Alibaba Cloud and Tencent Cloud SMS, without the internet: the local
//! fakes check every request's signature as the providers do (a wrong
//! secret, a changed request or a stale timestamp is refused), the portal
//! sends the demo's sign-in code through them, their error codes reach the
//! member as clear messages and the owner as reasons, and a reply of R
//! withdraws a member's marketing.

use crate::common;

use common::{body_text, location, spawn_app_sending, Browser};
use loyalty::brands::Language;
use loyalty::marketing::delivery::{Failure, Purpose, Sender, Sms};
use loyalty::marketing::templates::{default_sign_in, Var};
use loyalty::members::phone::Phone;
use server::sms::fake::{Fake, Kind};
use server::sms::{aliyun, tencent};
use std::time::Duration;

const ALI_ID: &str = "test-access-key-id";
const ALI_SECRET: &str = "test-access-key-secret";
const TC_ID: &str = "AKIDtest";
const TC_KEY: &str = "test-secret-key";
const TC_APP: &str = "1400006666";

async fn fake(kind: Kind) -> (Fake, String) {
    let fake = match kind {
        Kind::Aliyun => Fake::new(kind, ALI_ID, ALI_SECRET, ""),
        Kind::Tencent => Fake::new(kind, TC_ID, TC_KEY, TC_APP),
    };
    let url = fake.clone().spawn("127.0.0.1:0").await.unwrap();
    (fake, url)
}

fn sms(national: &str, template: &str) -> Sms {
    let body = default_sign_in(Language::ZhCn);
    let value = |v: Var| (v == Var::Code).then(|| "042917".to_owned());
    Sms {
        phone: Phone::parse("86", national).unwrap(),
        brand_slug: "demo".into(),
        brand_name: "山野小馆".into(),
        signature: "山野小馆".into(),
        language: Language::ZhCn,
        purpose: Purpose::SignIn,
        template_code: Some(template.into()),
        params: body.params(value),
        text: body.render(value),
    }
}

fn aliyun_sender(url: &str, secret: &str) -> aliyun::AliyunSender {
    aliyun::AliyunSender::new(aliyun::Credentials {
        access_key_id: ALI_ID.into(),
        access_key_secret: secret.into(),
        endpoint: url.into(),
    })
    .with_backoff(Duration::from_millis(10))
}

fn tencent_sender(url: &str, key: &str, app: &str) -> tencent::TencentSender {
    tencent::TencentSender::new(tencent::Credentials {
        secret_id: TC_ID.into(),
        secret_key: key.into(),
        app_id: app.into(),
        region: "ap-guangzhou".into(),
        endpoint: url.into(),
    })
    .with_backoff(Duration::from_millis(10))
}

#[tokio::test]
async fn each_provider_accepts_a_signed_message_with_its_variables() {
    let (ali, url) = fake(Kind::Aliyun).await;
    aliyun_sender(&url, ALI_SECRET)
        .send(&sms("13800138000", "SMS_465000001"))
        .await
        .unwrap();
    let got = &ali.received()[0];
    assert_eq!(got.phone, "13800138000", "a mainland number without +86");
    assert_eq!(got.sign_name, "山野小馆");
    assert_eq!(got.template, "SMS_465000001");
    assert_eq!(got.params, [("code".to_owned(), "042917".to_owned())]);

    let (tc, url) = fake(Kind::Tencent).await;
    tencent_sender(&url, TC_KEY, TC_APP)
        .send(&sms("13800138000", "1234567"))
        .await
        .unwrap();
    let got = &tc.received()[0];
    assert_eq!(got.phone, "+8613800138000");
    assert_eq!(got.template, "1234567");
    assert_eq!(got.params, [("1".to_owned(), "042917".to_owned())]);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_each_provider() {
    let (ali, url) = fake(Kind::Aliyun).await;
    let err = aliyun_sender(&url, "not-the-secret")
        .send(&sms("13800138000", "SMS_1"))
        .await
        .unwrap_err();
    assert_eq!(err, Failure::refused("SignatureDoesNotMatch"));
    let (tc, url) = fake(Kind::Tencent).await;
    let err = tencent_sender(&url, "not-the-key", TC_APP)
        .send(&sms("13800138000", "1"))
        .await
        .unwrap_err();
    assert_eq!(err, Failure::refused("AuthFailure.SignatureFailure"));
    let err = tencent_sender(&url, TC_KEY, "1400000001")
        .send(&sms("13800138000", "1"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Failure::refused("UnauthorizedOperation.SmsSdkAppIdVerifyFail")
    );
    assert!(ali.received().is_empty() && tc.received().is_empty());
}

/// Sends an ACS3-signed SendSms to the Alibaba fake: `signed` is the query
/// the signature covers, `sent` the one on the wire; answers its `Code`.
async fn aliyun_raw(url: &str, signed: &str, sent: &str, date: &str, nonce: &str) -> String {
    let host = url.trim_start_matches("http://");
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let headers = [
        ("host", host),
        ("x-acs-action", "SendSms"),
        ("x-acs-content-sha256", empty),
        ("x-acs-date", date),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-version", aliyun::VERSION),
    ];
    let r = aliyun::Request {
        method: "POST",
        path: "/",
        query: signed,
        headers: &headers,
        body: b"",
    };
    let mut req = reqwest::Client::new()
        .post(format!("{url}/?{sent}"))
        .header("authorization", r.authorization(ALI_ID, ALI_SECRET));
    for (name, value) in &headers[1..] {
        req = req.header(*name, *value);
    }
    let answer: serde_json::Value = req.send().await.unwrap().json().await.unwrap();
    answer["Code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn alibaba_refuses_a_changed_request_a_stale_date_and_a_replayed_nonce() {
    let (ali, url) = fake(Kind::Aliyun).await;
    let query = |phone: &str| {
        aliyun::canonical_query(&[
            ("PhoneNumbers", phone),
            ("SignName", "山野小馆"),
            ("TemplateCode", "SMS_1"),
            ("TemplateParam", r#"{"code":"042917"}"#),
        ])
    };
    let now = jiff::Timestamp::now();
    let date = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let good = query("13800138000");
    assert_eq!(aliyun_raw(&url, &good, &good, &date, "n1").await, "OK");
    // The same signature over another number: the request was changed.
    let other = query("13900139000");
    assert_eq!(
        aliyun_raw(&url, &good, &other, &date, "n2").await,
        "SignatureDoesNotMatch"
    );
    // Signed correctly, twenty minutes ago.
    let stale = (now - jiff::SignedDuration::from_mins(20))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(
        aliyun_raw(&url, &good, &good, &stale, "n3").await,
        "InvalidTimeStamp.Expired"
    );
    // Sent again as it was: the nonce is spent.
    assert_eq!(
        aliyun_raw(&url, &good, &good, &date, "n1").await,
        "SignatureNonceUsed"
    );
    assert_eq!(ali.received().len(), 1);
}

/// Sends a TC3-signed SendSms to the Tencent fake: `signed` is the body the
/// signature covers, `sent` the one on the wire; answers the error code, or
/// the first number's status.
async fn tencent_raw(url: &str, signed: &[u8], sent: &[u8], timestamp: i64) -> String {
    let host = url.trim_start_matches("http://");
    let headers = [
        ("content-type", tencent::CONTENT_TYPE),
        ("host", host),
        ("x-tc-action", "SendSms"),
    ];
    let r = tencent::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: signed,
        service: tencent::SERVICE,
        timestamp,
    };
    let answer: serde_json::Value = reqwest::Client::new()
        .post(url)
        .header("authorization", r.authorization(TC_ID, TC_KEY))
        .header("content-type", tencent::CONTENT_TYPE)
        .header("x-tc-action", "SendSms")
        .header("x-tc-timestamp", timestamp.to_string())
        .header("x-tc-version", tencent::VERSION)
        .header("x-tc-region", "ap-guangzhou")
        .body(sent.to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let response = &answer["Response"];
    response["Error"]["Code"]
        .as_str()
        .or(response["SendStatusSet"][0]["Code"].as_str())
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn tencent_refuses_a_changed_body_and_a_stale_timestamp() {
    let (tc, url) = fake(Kind::Tencent).await;
    let body = |phone: &str| {
        serde_json::to_vec(&serde_json::json!({
            "PhoneNumberSet": [phone], "SmsSdkAppId": TC_APP, "SignName": "山野小馆",
            "TemplateId": "1234567", "TemplateParamSet": ["042917"],
        }))
        .unwrap()
    };
    let now = jiff::Timestamp::now().as_second();
    let good = body("+8613800138000");
    assert_eq!(tencent_raw(&url, &good, &good, now).await, "Ok");
    let other = body("+8613900139000");
    assert_eq!(
        tencent_raw(&url, &good, &other, now).await,
        "AuthFailure.SignatureFailure"
    );
    assert_eq!(
        tencent_raw(&url, &good, &good, now - 600).await,
        "AuthFailure.SignatureExpire"
    );
    assert_eq!(tc.received().len(), 1);
}

#[tokio::test]
async fn each_providers_errors_become_an_outcome() {
    let (_, ali) = fake(Kind::Aliyun).await;
    let (_, tc) = fake(Kind::Tencent).await;
    let ali = aliyun_sender(&ali, ALI_SECRET);
    let tc = tencent_sender(&tc, TC_KEY, TC_APP);
    let cases = [
        (
            "13800000001",
            "T1",
            "unreachable",
            "isv.MOBILE_NUMBER_ILLEGAL",
            "InvalidParameterValue.IncorrectPhoneNumber",
        ),
        (
            "13800000002",
            "T1",
            "limited",
            "isv.BUSINESS_LIMIT_CONTROL",
            "LimitExceeded.PhoneNumberDailyLimit",
        ),
        (
            "13800000003",
            "T1",
            "refused",
            "isv.AMOUNT_NOT_ENOUGH",
            "FailedOperation.InsufficientBalanceInSmsPackage",
        ),
        (
            "13800000004",
            "T1",
            "transient",
            "isp.SYSTEM_ERROR",
            "InternalError.Timeout",
        ),
        (
            "13800138000",
            "T_UNAPPROVED",
            "refused",
            "isv.SMS_TEMPLATE_ILLEGAL",
            "FailedOperation.TemplateIncorrectOrUnapproved",
        ),
    ];
    for (number, template, outcome, ali_code, tc_code) in cases {
        let err = ali.send(&sms(number, template)).await.unwrap_err();
        assert_eq!((err.outcome(), err.reason()), (outcome, ali_code));
        let err = tc.send(&sms(number, template)).await.unwrap_err();
        assert_eq!((err.outcome(), err.reason()), (outcome, tc_code));
    }
    // Nobody at the address at all: worth another try later.
    let gone = aliyun_sender("http://127.0.0.1:9", ALI_SECRET);
    let err = gone.send(&sms("13800138000", "T1")).await.unwrap_err();
    assert_eq!(err, Failure::transient("provider_unreachable"));
}

/// A provider's reply push, as JSON.
async fn push(app: &common::TestApp, path: &str, body: &'static str) -> axum::response::Response {
    app.send(
        axum::http::Request::post(path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap(),
    )
    .await
}

fn provider_vars(kind: Kind, url: &str) -> Vec<(&'static str, String)> {
    match kind {
        Kind::Aliyun => vec![
            ("TABLECARD_SMS", "aliyun".into()),
            ("TABLECARD_ALIYUN_ACCESS_KEY_ID", ALI_ID.into()),
            ("TABLECARD_ALIYUN_ACCESS_KEY_SECRET", ALI_SECRET.into()),
            ("TABLECARD_ALIYUN_SMS_ENDPOINT", url.into()),
            (
                "TABLECARD_SMS_INBOUND_TOKEN",
                "inbound-token-0123456789".into(),
            ),
        ],
        Kind::Tencent => vec![
            ("TABLECARD_SMS", "tencent".into()),
            ("TABLECARD_TENCENT_SECRET_ID", TC_ID.into()),
            ("TABLECARD_TENCENT_SECRET_KEY", TC_KEY.into()),
            ("TABLECARD_TENCENT_SMS_APP_ID", TC_APP.into()),
            ("TABLECARD_TENCENT_SMS_ENDPOINT", url.into()),
            (
                "TABLECARD_SMS_INBOUND_TOKEN",
                "inbound-token-0123456789".into(),
            ),
        ],
    }
}

async fn app_sending_by(kind: Kind) -> (Fake, common::TestApp) {
    let (fake, url) = fake(kind).await;
    let vars = provider_vars(kind, &url);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (fake, spawn_app_sending(&vars).await)
}

#[test_macros::both_databases]
async fn the_demo_sign_in_code_arrives_through_each_provider() {
    for kind in [Kind::Aliyun, Kind::Tencent] {
        let (fake, app) = app_sending_by(kind).await;
        let mut phone = Browser::new(&app);
        let sent = phone.request_code("13800138000").await;
        assert_eq!(location(&sent), "/r/demo/join?sent=1", "{kind:?}");
        let got = fake.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].sign_name, "山野小馆", "the brand's signature");
        assert_eq!(
            got[0].template, "SMS_DEMO_SIGN_IN",
            "the demo's sign-in template"
        );
        let code = fake.last_code("13800138000").unwrap();
        let joined = phone.verify(&code).await;
        assert_eq!(location(&joined), "/r/demo/card?welcome=1", "{kind:?}");
        app.finish().await;
    }
}

#[test_macros::both_databases]
async fn what_the_provider_says_reaches_the_member_and_the_owner() {
    for kind in [Kind::Aliyun, Kind::Tencent] {
        let (_, app) = app_sending_by(kind).await;
        let mut phone = Browser::new(&app);
        for (number, error, sentence) in [
            ("13800000001", "phone_cannot_receive", "该号码无法接收短信"),
            ("13800000002", "code_limit_reached", "获取验证码次数过多"),
            ("13800000003", "code_not_delivered", "验证码暂时无法发送"),
        ] {
            let r = phone.request_code(number).await;
            let to = location(&r);
            assert!(
                to.starts_with(&format!("/r/demo/join?error={error}")),
                "{kind:?} {number}: {to}"
            );
            let page = phone.page(&to).await;
            assert!(page.contains(sentence), "{kind:?} {number}: {sentence}");
        }
        // The owner sees each failure and why.
        common::console_staff(&app).await;
        let mut owner = common::staff_browser(&app, "boss").await;
        let console = owner.page("/admin/messages").await;
        let balance = match kind {
            Kind::Aliyun => "isv.AMOUNT_NOT_ENOUGH",
            Kind::Tencent => "FailedOperation.InsufficientBalanceInSmsPackage",
        };
        assert!(console.contains(balance), "{console}");
        assert!(console.contains("余额"), "the reason in words: {console}");
        app.finish().await;
    }
}

#[test_macros::both_databases]
async fn a_reply_of_r_withdraws_the_members_marketing() {
    let (fake, app) = app_sending_by(Kind::Tencent).await;
    let mut phone = Browser::new(&app);
    phone.request_code("13800138000").await;
    let code = fake.last_code("13800138000").unwrap();
    let joined = phone
        .post(
            "/fn/verify_code",
            &[
                ("slug", "demo"),
                ("code", &code),
                ("terms", "on"),
                ("marketing", "on"),
            ],
        )
        .await;
    assert_eq!(location(&joined), "/r/demo/card?welcome=1");
    assert!(phone
        .page("/r/demo/me")
        .await
        .contains("name=\"marketing\" checked"));
    const TENCENT_R: &str =
        r#"{"mobile":"13800138000","nationcode":"86","sign":"山野小馆","text":"R","time":1}"#;
    let wrong = push(&app, "/sms/inbound/tencent/not-the-token-000000", TENCENT_R).await;
    assert_eq!(wrong.status(), 404);
    // Whatever it is sent, a wrong address does not say it exists.
    let probe = push(&app, "/sms/inbound/aliyun/not-the-token-000000", "not json").await;
    assert_eq!(probe.status(), 404);
    assert!(phone
        .page("/r/demo/me")
        .await
        .contains("name=\"marketing\" checked"));
    let right = push(
        &app,
        "/sms/inbound/tencent/inbound-token-0123456789",
        TENCENT_R,
    )
    .await;
    assert_eq!(right.status(), 200);
    assert_eq!(body_text(right).await, r#"{"errmsg":"OK","result":0}"#);
    let profile = phone.page("/r/demo/me").await;
    assert!(profile.contains("name=\"marketing\""));
    assert!(
        !profile.contains("name=\"marketing\" checked"),
        "withdrawn by the reply"
    );
    // Consent given again; then Alibaba Cloud pushes a batch, without
    // saying which signature was answered.
    sqlx::query("UPDATE members SET marketing_consent_at = 1 WHERE phone = '+8613800138000'")
        .execute(app._db.db.pool())
        .await
        .unwrap();
    assert!(phone
        .page("/r/demo/me")
        .await
        .contains("name=\"marketing\" checked"));
    let ali = push(
        &app,
        "/sms/inbound/aliyun/inbound-token-0123456789",
        r#"[{"phone_number":"13800138000","content":"TD","send_time":"2026-12-03 10:00:00","dest_code":"1234","sequence_id":1}]"#,
    )
    .await;
    assert_eq!(body_text(ali).await, r#"{"code":0,"msg":"接收成功"}"#);
    assert!(!phone
        .page("/r/demo/me")
        .await
        .contains("name=\"marketing\" checked"));
    app.finish().await;
}
