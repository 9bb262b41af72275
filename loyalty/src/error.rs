use std::fmt;

/// The core's error: every variant has a stable machine code that the edges
/// map to an HTTP status and a message key in the user's language.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("brand not found")]
    BrandNotFound,
    #[error("store not found")]
    StoreNotFound,
    #[error("table not found")]
    TableNotFound,
    #[error("a brand with this slug already exists")]
    BrandSlugTaken,
    #[error("this store code is already used in the brand")]
    StoreCodeTaken,
    #[error("this table name is already used in the store")]
    TableLabelTaken,
    #[error("this staff login is already taken")]
    StaffLoginTaken,
    #[error("member not found")]
    MemberNotFound,
    #[error("the terms and privacy notice must be accepted to join")]
    TermsNotAccepted,
    #[error("no free member number after several draws")]
    MemberNoExhausted,
    #[error("a new code can be sent in {wait_secs} s")]
    CodeResendTooSoon { wait_secs: i64 },
    #[error("too many codes requested; wait {wait_secs} s")]
    CodeLimitReached { wait_secs: i64 },
    #[error("this number has had its codes for today; try again in {wait_secs} s")]
    CodeDailyLimit { wait_secs: i64 },
    #[error("the restaurant has sent all its sign-in codes for today; try again in {wait_secs} s")]
    CodeBudgetSpent { wait_secs: i64 },
    #[error("wrong code; {tries_left} tries left")]
    CodeWrong { tries_left: i64 },
    #[error("the code has expired")]
    CodeExpired,
    #[error("too many wrong codes; a new code can be sent in {wait_secs} s")]
    CodeTooManyTries { wait_secs: i64 },
    #[error("no code is waiting for this phone")]
    CodeMissing,
    #[error("the code could not be delivered")]
    CodeNotDelivered,
    #[error("this number cannot receive text messages")]
    PhoneCannotReceive,
    #[error("message template not found")]
    SmsTemplateNotFound,
    #[error("the file is not a CSV file or a spreadsheet that can be read")]
    ImportUnreadable,
    #[error("the spreadsheet unpacks to more than 256 MB")]
    ImportTooBig,

    #[error("the file has no rows")]
    ImportEmpty,
    #[error("the file has more than {max} rows")]
    ImportTooManyRows { max: usize },
    #[error("no column of the file holds phone numbers")]
    ImportNoPhoneColumn,
    #[error("the import's file has changed since its dry run")]
    ImportChanged,
    #[error("this import is already running")]
    ImportRunning,
    #[error("import not found")]
    ImportNotFound,
    #[error("an erasure of this member is waiting for the owner already")]
    ErasureAlreadyRequested,
    #[error("this erasure request was decided already")]
    ErasureNotPending,
    #[error("not enough points")]
    InsufficientPoints,
    #[error("points may pay at most {max_points} points of this bill")]
    PointsCapExceeded { max_points: i64 },
    #[error("points already paid more of this order than the cap allows for this bill ({max_points} points at most); void a points payment first")]
    PointsPaidOverCap { max_points: i64 },
    #[error("this order is already recorded at this store")]
    OrderAlreadyRecorded,
    #[error("purchase not found")]
    PurchaseNotFound,
    #[error("refunds would exceed the purchase")]
    RefundExceedsPurchase,
    #[error("this refund is already recorded")]
    RefundAlreadyRecorded,
    #[error("redemption not found")]
    RedemptionNotFound,
    #[error("this redemption is already voided")]
    RedemptionAlreadyVoided,
    #[error("a payment from the stored balance needs the card's current rotating code")]
    RotatingCodeRequired,
    #[error("the stored balance is less than this payment")]
    InsufficientBalance,
    #[error("the stored balance would be over its limit")]
    StoredValueLimit,
    #[error("this top-up id is already recorded at this store")]
    TopUpAlreadyRecorded,
    #[error("top-up not found")]
    TopUpNotFound,
    #[error("this payment id is already recorded at this store")]
    PaymentAlreadyRecorded,
    #[error("payment not found")]
    PaymentNotFound,
    #[error("this payment is already voided")]
    PaymentAlreadyVoided,
    #[error("the refund is more than what is left of this top-up's principal ({left_fen} fen)")]
    RefundExceedsPrincipal { left_fen: i64 },
    #[error("top-up offer not found")]
    TopUpRuleNotFound,
    #[error("coupon not found")]
    CouponNotFound,
    #[error("coupon offer not found")]
    CouponOfferNotFound,
    #[error("this coupon is not offered that way now")]
    CouponNotOffered,
    #[error("this coupon is out of stock")]
    CouponOutOfStock,
    #[error("the member already holds as many of this coupon as allowed")]
    CouponLimitReached,
    #[error("{0}")]
    CouponRefused(crate::coupons::Refusal),
    #[error("no free coupon code after several draws")]
    CouponCodeExhausted,
    #[error("too much feedback from here in the last hour")]
    FeedbackTooOften,
    #[error("feedback not found")]
    FeedbackNotFound,
    #[error("wrong login or password")]
    StaffSignInFailed,
    #[error("too many wrong passwords; try again in {wait_secs} s")]
    StaffLocked { wait_secs: i64 },
    #[error("too many sign-in attempts from this address; try again in {wait_secs} s")]
    SignInTooOften { wait_secs: i64 },
    #[error("too many sign-ins being checked; try again in {wait_secs} s")]
    SignInBusy { wait_secs: i64 },
    #[error("API key not found")]
    ApiKeyNotFound,
    #[error("this idempotency key was used with another request")]
    IdempotencyKeyReused,
    #[error("this form was already sent with other content")]
    FormAlreadyUsed,
    #[error("no adjustment waits for this owner's decision under this id")]
    AdjustmentNotPending,
    #[error("staff member not found")]
    StaffNotFound,
    #[error("an owner cannot demote or deactivate themselves")]
    StaffSelfChange,
    #[error("automation not found")]
    AutomationNotFound,
    #[error("check-in is not offered by this brand")]
    CheckInOff,
    #[error("a request with this idempotency key is still running")]
    RequestInProgress,
    #[error("the points ledger and lots disagree")]
    LedgerConflict,
    #[error("invalid {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: Invalid,
    },
    #[error("password hashing failed")]
    PasswordHash,
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// A backup or restore could not be made; the text says why.
    #[error("{0}")]
    Backup(String),
    /// A copy from SQLite to PostgreSQL could not be made; the text says why.
    #[error("{0}")]
    Copy(String),
}

/// Why an input was refused; the edges turn these into sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    Empty,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    Characters,
    Format,
    /// Outside what the field allows; the text says what is allowed.
    Range(&'static str),
}

impl Invalid {
    /// Stable snake_case, for the edges' sentences.
    pub fn code(&self) -> String {
        match self {
            Invalid::Empty => "empty",
            Invalid::TooShort { .. } => "too_short",
            Invalid::TooLong { .. } => "too_long",
            Invalid::Characters => "characters",
            Invalid::Format => "format",
            Invalid::Range(_) => "range",
        }
        .to_owned()
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invalid::Empty => f.write_str("must not be empty"),
            Invalid::TooShort { min } => write!(f, "must be at least {min} characters"),
            Invalid::TooLong { max } => write!(f, "must be at most {max} characters"),
            Invalid::Characters => f.write_str("contains characters that are not allowed"),
            Invalid::Format => f.write_str("is not in the expected format"),
            Invalid::Range(allowed) => write!(f, "must be {allowed}"),
        }
    }
}

impl Error {
    /// Stable snake_case code, part of the public API contract.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BrandNotFound => "brand_not_found",
            Error::StoreNotFound => "store_not_found",
            Error::TableNotFound => "table_not_found",
            Error::BrandSlugTaken => "brand_slug_taken",
            Error::StoreCodeTaken => "store_code_taken",
            Error::TableLabelTaken => "table_label_taken",
            Error::StaffLoginTaken => "staff_login_taken",
            Error::MemberNotFound => "member_not_found",
            Error::TermsNotAccepted => "terms_not_accepted",
            Error::CodeResendTooSoon { .. } => "code_resend_too_soon",
            Error::CodeLimitReached { .. } => "code_limit_reached",
            Error::CodeDailyLimit { .. } => "code_daily_limit",
            Error::CodeBudgetSpent { .. } => "code_budget_spent",
            Error::CodeWrong { .. } => "code_wrong",
            Error::CodeExpired => "code_expired",
            Error::CodeTooManyTries { .. } => "code_too_many_tries",
            Error::CodeMissing => "code_missing",
            Error::CodeNotDelivered => "code_not_delivered",
            Error::PhoneCannotReceive => "phone_cannot_receive",
            Error::SmsTemplateNotFound => "sms_template_not_found",
            Error::ImportUnreadable => "import_unreadable",
            Error::ImportTooBig => "import_too_big",

            Error::ImportEmpty => "import_empty",
            Error::ImportTooManyRows { .. } => "import_too_many_rows",
            Error::ImportNoPhoneColumn => "import_no_phone_column",
            Error::ImportChanged => "import_changed",
            Error::ImportRunning => "import_running",
            Error::ImportNotFound => "import_not_found",
            Error::ErasureAlreadyRequested => "erasure_already_requested",
            Error::ErasureNotPending => "erasure_not_pending",
            Error::InsufficientPoints => "insufficient_points",
            Error::PointsCapExceeded { .. } => "points_cap_exceeded",
            Error::PointsPaidOverCap { .. } => "points_paid_over_cap",
            Error::OrderAlreadyRecorded => "order_already_recorded",
            Error::PurchaseNotFound => "purchase_not_found",
            Error::RefundExceedsPurchase => "refund_exceeds_purchase",
            Error::RefundAlreadyRecorded => "refund_already_recorded",
            Error::RedemptionNotFound => "redemption_not_found",
            Error::RedemptionAlreadyVoided => "redemption_already_voided",
            Error::RotatingCodeRequired => "rotating_code_required",
            Error::InsufficientBalance => "insufficient_balance",
            Error::StoredValueLimit => "stored_value_limit",
            Error::TopUpAlreadyRecorded => "top_up_already_recorded",
            Error::TopUpNotFound => "top_up_not_found",
            Error::PaymentAlreadyRecorded => "payment_already_recorded",
            Error::PaymentNotFound => "payment_not_found",
            Error::PaymentAlreadyVoided => "payment_already_voided",
            Error::RefundExceedsPrincipal { .. } => "refund_exceeds_principal",
            Error::TopUpRuleNotFound => "top_up_rule_not_found",
            Error::CouponNotFound => "coupon_not_found",
            Error::CouponOfferNotFound => "coupon_offer_not_found",
            Error::CouponNotOffered => "coupon_not_offered",
            Error::CouponOutOfStock => "coupon_out_of_stock",
            Error::CouponLimitReached => "coupon_limit_reached",
            Error::CouponRefused(r) => r.code(),
            Error::FeedbackTooOften => "feedback_too_often",
            Error::FeedbackNotFound => "feedback_not_found",
            Error::StaffSignInFailed => "staff_sign_in_failed",
            Error::StaffLocked { .. } => "staff_locked",
            Error::SignInTooOften { .. } => "sign_in_too_often",
            Error::SignInBusy { .. } => "sign_in_busy",
            Error::ApiKeyNotFound => "api_key_not_found",
            Error::IdempotencyKeyReused => "idempotency_key_reused",
            Error::FormAlreadyUsed => "form_already_used",
            Error::AdjustmentNotPending => "adjustment_not_pending",
            Error::StaffNotFound => "staff_not_found",
            Error::StaffSelfChange => "staff_self_change",
            Error::AutomationNotFound => "automation_not_found",
            Error::CheckInOff => "check_in_off",
            Error::RequestInProgress => "request_in_progress",
            Error::Invalid { .. } => "invalid_input",
            Error::PasswordHash
            | Error::MemberNoExhausted
            | Error::LedgerConflict
            | Error::CouponCodeExhausted
            | Error::Database(_) => "internal_error",
            Error::Backup(_) => "backup_failed",
            Error::Copy(_) => "copy_failed",
        }
    }

    /// The values a sentence about this error needs, by name: the edges
    /// carry them with the code, unchanged, and the locale files word them.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Error::CodeResendTooSoon { wait_secs }
            | Error::CodeLimitReached { wait_secs }
            | Error::CodeDailyLimit { wait_secs }
            | Error::CodeBudgetSpent { wait_secs }
            | Error::CodeTooManyTries { wait_secs }
            | Error::StaffLocked { wait_secs }
            | Error::SignInTooOften { wait_secs }
            | Error::SignInBusy { wait_secs } => vec![("secs", wait_secs.to_string())],
            Error::CodeWrong { tries_left } => vec![("left", tries_left.to_string())],
            Error::PointsCapExceeded { max_points } | Error::PointsPaidOverCap { max_points } => {
                vec![("max", max_points.to_string())]
            }
            Error::CouponRefused(r) => r.params(),
            Error::RefundExceedsPrincipal { left_fen } => vec![("left", left_fen.to_string())],
            Error::ImportTooManyRows { max } => vec![("max", max.to_string())],
            Error::Invalid { field, reason } => {
                let mut params = vec![("field", (*field).to_owned()), ("reason", reason.code())];
                match reason {
                    Invalid::TooShort { min } => params.push(("min", min.to_string())),
                    Invalid::TooLong { max } => params.push(("max", max.to_string())),
                    _ => {}
                }
                params
            }
            _ => Vec::new(),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Error::BrandNotFound
                | Error::StoreNotFound
                | Error::TableNotFound
                | Error::MemberNotFound
                | Error::PurchaseNotFound
                | Error::RedemptionNotFound
                | Error::CouponNotFound
                | Error::TopUpNotFound
                | Error::PaymentNotFound
                | Error::TopUpRuleNotFound
                | Error::CouponOfferNotFound
                | Error::FeedbackNotFound
                | Error::AutomationNotFound
                | Error::SmsTemplateNotFound
                | Error::ImportNotFound
        )
    }

    /// The database cannot be reached or written just now (down,
    /// restarting, out of disk, busy past its timeout). Nothing was changed
    /// and the same request may succeed later: a 503, not a 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Database(e) if unavailable(e))
    }

    pub fn invalid(field: &'static str, reason: Invalid) -> Self {
        Error::Invalid { field, reason }
    }
}

/// Whether a driver's error means the database is unavailable just now.
pub(crate) fn unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(d) => unavailable_code(&d.code().unwrap_or_default()),
        _ => false,
    }
}

/// Whether a database's error code means "unavailable just now".
/// PostgreSQL's SQLSTATE is always five characters (digits and capitals):
/// connection exceptions (class 08), insufficient resources such as a full
/// disk (class 53), and shutting down (57P01–57P03). SQLite's result codes
/// are numbers of at most four digits, whose low byte is the primary code:
/// BUSY, LOCKED, IOERR, FULL, CANTOPEN.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        code.starts_with("08")
            || code.starts_with("53")
            || ["57P01", "57P02", "57P03"].contains(&code)
    } else {
        code.parse::<i64>()
            .is_ok_and(|n| matches!(n & 0xff, 5 | 6 | 10 | 13 | 14))
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Database(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of constraint a failed statement hit. SQLite does not report
/// constraint names, so the callers decide from the statement they ran.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    Unique,
    ForeignKey,
    Check,
}

/// For a row that names a store: a foreign-key failure means the store is
/// not the brand's (or does not exist).
pub(crate) fn store_not_found(e: sqlx::Error) -> Error {
    match violation(&e) {
        Some(Violation::ForeignKey) => Error::StoreNotFound,
        _ => e.into(),
    }
}

pub(crate) fn violation(e: &sqlx::Error) -> Option<Violation> {
    let db = e.as_database_error()?;
    match db.kind() {
        sqlx::error::ErrorKind::UniqueViolation => Some(Violation::Unique),
        sqlx::error::ErrorKind::ForeignKeyViolation => Some(Violation::ForeignKey),
        sqlx::error::ErrorKind::CheckViolation => Some(Violation::Check),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::unavailable_code;

    #[test]
    fn only_outages_are_unavailable_on_either_database() {
        // PostgreSQL: connection lost or refused, disk full, too many
        // connections, shutting down.
        for code in [
            "08000", "08001", "08003", "08006", "08P01", "53100", "53300", "57P01", "57P03",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
        // … but not bad input, constraints or rights, even when all digits.
        for code in [
            "22021", "22022", "23505", "23503", "42501", "40001", "57014",
        ] {
            assert!(!unavailable_code(code), "{code}");
        }
        // SQLite: BUSY, LOCKED, IOERR (and its extended codes), FULL, CANTOPEN.
        for code in ["5", "6", "10", "266", "3850", "13", "14", "517"] {
            assert!(unavailable_code(code), "{code}");
        }
        // … but not constraints (19, 2067), read-only (8) or corruption (11).
        for code in ["19", "2067", "787", "8", "11", "1"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
