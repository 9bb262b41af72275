//! Tencent Cloud SMS: `SendSms` of API version 2021-01-11, signed with
//! TC3-HMAC-SHA256 (Tencent Cloud API 3.0, signature v3), as documented at
//! <https://cloud.tencent.com/document/api/382/52071> and
//! <https://cloud.tencent.com/document/api/213/30654>.
//!
//! The request is a JSON POST; its signature covers the method, the path,
//! the signed headers (`content-type`, `host`, `x-tc-action`) and the
//! SHA-256 of the body, under a key derived from the secret, the UTC date
//! and the service. Template variables go in `TemplateParamSet` in the
//! order they first appear in the template ({1}, {2} … at Tencent Cloud).

use loyalty::marketing::delivery::{Failure, Sender, Sms};
use serde::Deserialize;

use super::{hex, hmac_sha256, sha256_hex, Retry};

pub const DEFAULT_ENDPOINT: &str = "https://sms.tencentcloudapi.com";
pub const DEFAULT_REGION: &str = "ap-guangzhou";
pub const SERVICE: &str = "sms";
pub const VERSION: &str = "2021-01-11";
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

#[derive(Debug, Clone)]
pub struct Credentials {
    pub secret_id: String,
    pub secret_key: String,
    /// The SMS application (SmsSdkAppId, 1400…).
    pub app_id: String,
    pub region: String,
    pub endpoint: String,
}

/// What a TC3 signature covers.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path and query, canonical (`/` and nothing for a POST of JSON).
    pub path: &'a str,
    pub query: &'a str,
    /// The signed headers, names in lower case, sorted (their values are
    /// signed trimmed and in lower case).
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub service: &'a str,
    /// Seconds since the epoch (`X-TC-Timestamp`).
    pub timestamp: i64,
}

/// The UTC date of a timestamp, as the credential scope writes it.
pub fn utc_date(timestamp: i64) -> String {
    jiff::Timestamp::from_second(timestamp)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

impl Request<'_> {
    pub fn signed_headers(&self) -> String {
        super::signed_headers(self.headers)
    }

    /// Tencent Cloud signs header values in lower case
    /// (`x-tc-action:sendsms`).
    pub fn canonical_request(&self) -> String {
        super::canonical_request(
            self.method,
            self.path,
            self.query,
            self.headers,
            self.body,
            str::to_ascii_lowercase,
        )
    }

    pub fn credential_scope(&self) -> String {
        format!("{}/{}/tc3_request", utc_date(self.timestamp), self.service)
    }

    pub fn string_to_sign(&self) -> String {
        format!(
            "{ALGORITHM}\n{}\n{}\n{}",
            self.timestamp,
            self.credential_scope(),
            sha256_hex(self.canonical_request().as_bytes())
        )
    }

    /// The signature, hex.
    pub fn signature(&self, secret_key: &str) -> String {
        let date = hmac_sha256(
            format!("TC3{secret_key}").as_bytes(),
            utc_date(self.timestamp).as_bytes(),
        );
        let service = hmac_sha256(&date, self.service.as_bytes());
        let signing = hmac_sha256(&service, b"tc3_request");
        hex(&hmac_sha256(&signing, self.string_to_sign().as_bytes()))
    }

    /// The `Authorization` header.
    pub fn authorization(&self, secret_id: &str, secret_key: &str) -> String {
        format!(
            "{ALGORITHM} Credential={secret_id}/{}, SignedHeaders={}, Signature={}",
            self.credential_scope(),
            self.signed_headers(),
            self.signature(secret_key)
        )
    }
}

pub struct TencentSender {
    client: reqwest::Client,
    credentials: Credentials,
    retry: Retry,
}

impl TencentSender {
    pub fn new(credentials: Credentials) -> Self {
        TencentSender {
            client: super::client(),
            credentials,
            retry: Retry::default(),
        }
    }

    pub fn with_backoff(mut self, backoff: std::time::Duration) -> Self {
        self.retry.backoff = backoff;
        self
    }
}

pub const CONTENT_TYPE: &str = "application/json; charset=utf-8";

#[async_trait::async_trait]
impl Sender for TencentSender {
    async fn send(&self, sms: &Sms) -> Result<(), Failure> {
        let Some(template) = &sms.template_code else {
            return Err(Failure::refused("template_missing"));
        };
        let body = serde_json::json!({
            "PhoneNumberSet": [sms.phone.as_str()],
            "SmsSdkAppId": self.credentials.app_id,
            "SignName": sms.signature,
            "TemplateId": template,
            "TemplateParamSet": sms.params.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>(),
        });
        let body = serde_json::to_vec(&body).map_err(|_| Failure::refused("encoding"))?;
        self.retry.run("tencent", || self.post(&body)).await
    }

    fn needs_template(&self) -> bool {
        true
    }
}

impl TencentSender {
    async fn post(&self, body: &[u8]) -> Result<(), Failure> {
        let c = &self.credentials;
        let host = super::host_of(&c.endpoint);
        let timestamp = jiff::Timestamp::now().as_second();
        let action = "SendSms";
        let request = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &[
                ("content-type", CONTENT_TYPE),
                ("host", host),
                ("x-tc-action", action),
            ],
            body,
            service: SERVICE,
            timestamp,
        };
        let answer = self
            .client
            .post(&c.endpoint)
            .header(
                "Authorization",
                request.authorization(&c.secret_id, &c.secret_key),
            )
            .header("Content-Type", CONTENT_TYPE)
            .header("Host", host)
            .header("X-TC-Action", action)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("X-TC-Version", VERSION)
            .header("X-TC-Region", &c.region)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| super::unreachable_provider(&e))?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|e| super::unreachable_provider(&e))?;
        let Ok(parsed) = serde_json::from_str::<Envelope>(&text) else {
            return Err(Failure::transient(format!("http_{}", status.as_u16())));
        };
        if let Some(error) = parsed.response.error {
            return Err(outcome(&error.code));
        }
        match parsed.response.send_status_set.first() {
            Some(s) if s.code == "Ok" => Ok(()),
            Some(s) => Err(outcome(&s.code)),
            None => Err(Failure::transient("empty_answer")),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(rename = "Response")]
    response: Response,
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(rename = "Error")]
    error: Option<ErrorBody>,
    #[serde(rename = "SendStatusSet", default)]
    send_status_set: Vec<SendStatus>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(rename = "Code")]
    code: String,
}

#[derive(Debug, Deserialize)]
struct SendStatus {
    #[serde(rename = "Code")]
    code: String,
}

/// Tencent Cloud's error codes (of the request, or of the one number in
/// `SendStatusSet`) as what happens next. Unknown codes are refused, so the
/// owner sees them, and not retried.
pub fn outcome(code: &str) -> Failure {
    const UNREACHABLE: &[&str] = &[
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.PhoneNumberOnBlacklist",
        // Tencent's own spelling, and the corrected one newer SDKs may use.
        "UnsupportedOperation.UnsuportedRegion",
        "UnsupportedOperation.UnsupportedRegion",
        "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
        "UnsupportedOperation.ChineseMainlandTemplateToGlobalPhone",
        "UnsupportedOperation.GlobalTemplateToChineseMainlandPhone",
    ];
    const LIMITED: &[&str] = &[
        "LimitExceeded.PhoneNumberDailyLimit",
        "LimitExceeded.PhoneNumberOneHourLimit",
        "LimitExceeded.PhoneNumberSameContentDailyLimit",
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "LimitExceeded.DeliveryFrequencyLimit",
    ];
    const TRANSIENT: &[&str] = &[
        "RequestLimitExceeded",
        "InternalError.Timeout",
        "InternalError.RequestTimeException",
        "InternalError.RestApiInterfaceNotExist",
        "InternalError.SendAndRecvFail",
        "InternalError.OtherError",
        "InternalError.UnknownError",
        "InternalError",
        "FailedOperation.JsonParseFail",
        "AuthFailure.SignatureExpire",
    ];
    super::classify(code, UNREACHABLE, LIMITED, TRANSIENT)
}

#[cfg(test)]
mod tests {
    //! The worked examples of Tencent Cloud's documentation
    //! (<https://cloud.tencent.com/document/api/213/30654>, "签名方法 v3"),
    //! in the revisions it has had, and the vector of the official Node.js
    //! SDK's tests, reproduced byte for byte.
    use super::*;

    /// The documentation's request body, byte for byte (its `\u` escapes
    /// are in the text, as Python's `json.dumps` writes them).
    const DOC_BODY: &str =
        r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#;
    const DOC_TIMESTAMP: i64 = 1_551_113_065;
    const DOC_ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const DOC_KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";

    fn doc_request<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request {
            method: "POST",
            path: "/",
            query: "",
            headers,
            body: DOC_BODY.as_bytes(),
            service: "cvm",
            timestamp: DOC_TIMESTAMP,
        }
    }

    #[test]
    fn the_documented_example_signed_with_content_type_and_host() {
        let headers = [
            ("content-type", "application/json; charset=utf-8"),
            ("host", "cvm.tencentcloudapi.com"),
        ];
        let r = doc_request(&headers);
        assert_eq!(
            sha256_hex(DOC_BODY.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            r.canonical_request(),
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            r.string_to_sign(),
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
        );
        assert_eq!(
            r.authorization(DOC_ID, DOC_KEY),
            "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        // The revision that printed the key masked signed with the mask.
        assert_eq!(
            r.signature("Gu5t9xGARNpq86cd98joQYCN3*******"),
            "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
        );
    }

    #[test]
    fn the_documented_example_signed_with_the_action_too() {
        // Today's revision signs `x-tc-action`, its value in lower case.
        let headers = [
            ("content-type", "application/json; charset=utf-8"),
            ("host", "cvm.tencentcloudapi.com"),
            ("x-tc-action", "DescribeInstances"),
        ];
        let r = doc_request(&headers);
        assert_eq!(
            r.canonical_request(),
            "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\nx-tc-action:describeinstances\n\ncontent-type;host;x-tc-action\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            sha256_hex(r.canonical_request().as_bytes()),
            "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84"
        );
        assert_eq!(
            r.signature("Gu5t9xGARNpq86cd98joQYCN3*******"),
            "be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3"
        );
        // The current page shows a key of 32 asterisks and signs with it.
        assert_eq!(
            r.authorization("AKID********************************", &"*".repeat(32)),
            "TC3-HMAC-SHA256 Credential=AKID********************************/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host;x-tc-action, Signature=10b1a37a7301a02ca19a647ad722d5e43b4b3cff309d421d85b46093f6ab6c4f"
        );
    }

    #[test]
    fn the_official_sdks_test_vector() {
        // TencentCloud/tencentcloud-sdk-nodejs, test/common/sign.test.ts.
        let body = br#"{"Action":"DescribeInstances","Version":"2017-03-12"}"#;
        let headers = [
            ("content-type", "application/json"),
            ("host", "cvm.tencentcloudapi.com"),
        ];
        let r = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            body,
            service: "cvm",
            timestamp: 1_640_995_200,
        };
        assert_eq!(
            r.authorization("test-secret-id", "test-secret-key"),
            "TC3-HMAC-SHA256 Credential=test-secret-id/2022-01-01/cvm/tc3_request, SignedHeaders=content-type;host, Signature=96473b50fe407833672a5d6d067238d88bb44c8abcc39ef83baa3132afbfadd3"
        );
    }

    #[test]
    fn error_codes_become_what_happens_next() {
        use loyalty::marketing::delivery::Failure;
        assert!(matches!(
            outcome("InvalidParameterValue.IncorrectPhoneNumber"),
            Failure::Unreachable { .. }
        ));
        assert!(matches!(
            outcome("FailedOperation.PhoneNumberInBlacklist"),
            Failure::Unreachable { .. }
        ));
        assert!(matches!(
            outcome("UnsupportedOperation.UnsuportedRegion"),
            Failure::Unreachable { .. }
        ));
        assert!(matches!(
            outcome("LimitExceeded.PhoneNumberDailyLimit"),
            Failure::Limited { .. }
        ));
        assert!(matches!(
            outcome("InternalError.Timeout"),
            Failure::Transient { .. }
        ));
        assert!(matches!(
            outcome("FailedOperation.TemplateIncorrectOrUnapproved"),
            Failure::Refused { .. }
        ));
        assert!(matches!(
            outcome("FailedOperation.InsufficientBalanceInSmsPackage"),
            Failure::Refused { .. }
        ));
        assert!(matches!(outcome("Something.New"), Failure::Refused { .. }));
    }
}
