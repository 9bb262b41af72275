//! The rules a brand's text messages go by, and their books.
//!
//! - **Sending hours.** Marketing messages go out only between 09:00 and
//!   21:00 in the brand's time zone; the owner may narrow that window,
//!   never widen it. A message due outside it waits in the outbox until the
//!   window opens. Sign-in codes go at any hour: a member is waiting.
//! - **A daily budget** per kind: sign-in codes (within the operator's
//!   ceiling) and marketing messages. Over it, sign-in codes are refused
//!   with a clear message and marketing waits for tomorrow.
//! - **Every send is recorded** (kind, outcome, the provider's reason,
//!   segments), never the number or the text: the owner sees the day's
//!   sends, failures and estimated cost, and why a message failed.
//! - **Opt-out by reply.** A member who replies R (退订, TD …) to a
//!   brand's signature stops getting its marketing, as if they had
//!   unticked it on their profile.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::AnyConnection;

use crate::access::Owner;
use crate::brands::{Brand, BrandId};
use crate::error::Invalid;
use crate::marketing::delivery::{Failure, Purpose, Sender, Sms};
use crate::marketing::templates::{self, Template};
use crate::members::phone::Phone;
use crate::points::rules::{local_date, local_midnight};
use crate::staff::audit::{self, Change};
use crate::{Clock, Db, Error, Result};

/// The widest sending window, in minutes after local midnight.
pub const EARLIEST: i64 = 9 * 60;
pub const LATEST: i64 = 21 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Marketing goes out from this minute of the local day …
    pub window_start: i64,
    /// … until this one.
    pub window_end: i64,
    /// Marketing messages per local day.
    pub marketing_cap: i64,
    /// Sign-in codes per 24 hours; None: the operator's ceiling.
    pub sign_in_cap: Option<i64>,
    /// What the provider charges for 100 segments, in fen (¥4.50: 450).
    pub fen_per_100: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window_start: EARLIEST,
            window_end: LATEST,
            marketing_cap: 1_000,
            sign_in_cap: None,
            fen_per_100: 450,
        }
    }
}

impl Settings {
    /// Whether marketing may go out at `now` in `time_zone`.
    pub fn sends_at(&self, time_zone: &str, now: i64) -> bool {
        let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
        let Ok(ts) = Timestamp::from_millisecond(now) else {
            return false;
        };
        let local = ts.to_zoned(zone);
        let minute = i64::from(local.hour()) * 60 + i64::from(local.minute());
        (self.window_start..self.window_end).contains(&minute)
            && (EARLIEST..LATEST).contains(&minute)
    }

    /// The sign-in codes a brand may send in 24 hours, under `ceiling`.
    pub fn sign_in_budget(&self, ceiling: i64) -> i64 {
        self.sign_in_cap.map_or(ceiling, |cap| cap.min(ceiling))
    }
}

pub async fn settings(conn: &mut AnyConnection, brand: BrandId) -> Result<Settings> {
    let row: Option<(i64, i64, i64, Option<i64>, i64)> = sqlx::query_as(
        "SELECT window_start, window_end, marketing_cap, sign_in_cap, fen_per_100 \
         FROM sms_settings WHERE brand_id = $1",
    )
    .bind(brand.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        None => Settings::default(),
        Some((window_start, window_end, marketing_cap, sign_in_cap, fen_per_100)) => Settings {
            window_start,
            window_end,
            marketing_cap,
            sign_in_cap,
            fen_per_100,
        },
    })
}

/// The settings form as a browser sends it: times as `HH:MM`, the price in
/// yuan per 100 segments.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    pub window_start: String,
    pub window_end: String,
    pub marketing_cap: String,
    /// Blank: the operator's ceiling.
    pub sign_in_cap: String,
    pub price_per_100: String,
}

fn minute_of(field: &'static str, s: &str) -> Result<i64> {
    let bad = || Error::invalid(field, Invalid::Format);
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// `09:00` for minute 540.
pub fn clock_time(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn whole(field: &'static str, s: &str, max: i64) -> Result<i64> {
    s.trim()
        .parse()
        .ok()
        .filter(|n| (0..=max).contains(n))
        .ok_or(Error::invalid(field, Invalid::Format))
}

impl SettingsForm {
    pub fn settings(&self) -> Result<Settings> {
        let window_start = minute_of("window_start", &self.window_start)?;
        let window_end = minute_of("window_end", &self.window_end)?;
        if window_start < EARLIEST {
            return Err(Error::invalid(
                "window_start",
                Invalid::Range("09:00 or later"),
            ));
        }
        if window_end > LATEST || window_end <= window_start {
            return Err(Error::invalid(
                "window_end",
                Invalid::Range("after the start and 21:00 at the latest"),
            ));
        }
        let sign_in_cap = match self.sign_in_cap.trim() {
            "" => None,
            s => Some(whole("sign_in_cap", s, 1_000_000)?),
        };
        Ok(Settings {
            window_start,
            window_end,
            marketing_cap: whole("marketing_cap", &self.marketing_cap, 1_000_000)?,
            sign_in_cap,
            fen_per_100: crate::staff::till::parse_yuan("price_per_100", &self.price_per_100)
                .map(|f| f.get())
                .and_then(|f| {
                    (f <= 100_000)
                        .then_some(f)
                        .ok_or(Error::invalid("price_per_100", Invalid::Format))
                })?,
        })
    }
}

pub async fn save_settings(db: &Db, clock: &dyn Clock, who: &Owner, new: Settings) -> Result<()> {
    let brand = who.brand().id;
    let mut tx = db.begin().await?;
    let before = settings(&mut tx, brand).await?;
    sqlx::query(
        "INSERT INTO sms_settings (brand_id, window_start, window_end, marketing_cap, sign_in_cap, fen_per_100) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (brand_id) DO UPDATE SET window_start = excluded.window_start, \
           window_end = excluded.window_end, marketing_cap = excluded.marketing_cap, \
           sign_in_cap = excluded.sign_in_cap, fen_per_100 = excluded.fen_per_100",
    )
    .bind(brand.0)
    .bind(new.window_start)
    .bind(new.window_end)
    .bind(new.marketing_cap)
    .bind(new.sign_in_cap)
    .bind(new.fen_per_100)
    .execute(&mut *tx)
    .await?;
    let change = Change::brand_setting("sms.settings", brand, json!(before), json!(new));
    audit::record(&mut tx, clock, &who.actor(), change).await?;
    tx.commit().await?;
    Ok(())
}

/// Sends one message and counts it for the owner's figures: the one way
/// sign-in codes and marketing go out. A provider that sends only templates
/// refuses a message without one (`template_missing`) before any request.
/// Not counting a message never turns its sending into a failure: a code
/// delivered stays delivered, a marketing message sent is settled.
pub async fn send(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    sender: &dyn Sender,
    sms: &Sms,
) -> std::result::Result<(), Failure> {
    let sent = if sender.needs_template() && sms.template_code.is_none() {
        Err(Failure::refused("template_missing"))
    } else {
        sender.send(sms).await
    };
    let segments = templates::length(&sms.signature, &sms.text).segments;
    if let Err(e) = record(db, clock, brand, sms.purpose, &sent, segments).await {
        tracing::warn!(brand = brand.0, purpose = sms.purpose.as_str(), error = %e, "a message was not counted");
    }
    sent
}

/// Records one send (or one that failed) for the owner's figures.
async fn record(
    db: &Db,
    clock: &dyn Clock,
    brand: BrandId,
    purpose: Purpose,
    result: &std::result::Result<(), Failure>,
    segments: usize,
) -> Result<()> {
    let (outcome, reason) = match result {
        Ok(()) => ("sent", ""),
        Err(f) => (f.outcome(), f.reason()),
    };
    metrics::counter!("tablecard_sms_total", "purpose" => purpose.as_str(), "outcome" => outcome)
        .increment(1);
    let reason: String = reason.chars().take(80).collect();
    sqlx::query(
        "INSERT INTO sms_sends (brand_id, purpose, outcome, reason, segments, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(brand.0)
    .bind(purpose.as_str())
    .bind(outcome)
    .bind(reason)
    .bind(i64::try_from(segments.min(20)).unwrap_or(20))
    .bind(clock.now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Sends are counted for the owner's figures for 90 days.
const KEPT_MS: i64 = 90 * 24 * 60 * 60 * 1000;

/// Forgets the record of sends older than 90 days.
pub async fn purge_old(db: &Db, clock: &dyn Clock) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sms_sends WHERE created_at < $1")
        .bind(clock.now_ms() - KEPT_MS)
        .execute(db.pool())
        .await?;
    Ok(done.rows_affected())
}

/// The start of the brand's local day at `now`.
fn day_start(brand: &Brand, now: i64) -> i64 {
    local_midnight(&brand.time_zone, &local_date(&brand.time_zone, now), 0).unwrap_or(now)
}

/// Marketing messages sent today, in the brand's calendar.
pub async fn marketing_sent_today(db: &Db, clock: &dyn Clock, brand: &Brand) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM sms_sends \
         WHERE brand_id = $1 AND purpose = 'marketing' AND outcome = 'sent' AND created_at >= $2",
    )
    .bind(brand.id.0)
    .bind(day_start(brand, clock.now_ms()))
    .fetch_one(db.pool())
    .await?;
    Ok(n)
}

/// One kind's figures for the day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    pub sent: i64,
    pub failed: i64,
    pub segments: i64,
}

/// A send that failed, for the owner: when, what kind, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failed {
    pub at: i64,
    pub purpose: Purpose,
    /// `transient`, `unreachable` or `refused`.
    pub outcome: String,
    /// The provider's code (`isv.SMS_TEMPLATE_ILLEGAL`) or ours.
    pub reason: String,
}

/// Today's messages in the brand's calendar.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Today {
    pub sign_in: Count,
    pub marketing: Count,
    /// Segments sent times the price.
    pub cost_fen: i64,
    /// Waiting in the outbox (for the window, the budget or a retry).
    pub waiting: i64,
    pub recent_failures: Vec<Failed>,
}

pub async fn today(db: &Db, clock: &dyn Clock, brand: &Brand) -> Result<Today> {
    let since = day_start(brand, clock.now_ms());
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT purpose, outcome, CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(segments), 0) AS BIGINT) \
         FROM sms_sends WHERE brand_id = $1 AND created_at >= $2 GROUP BY purpose, outcome",
    )
    .bind(brand.id.0)
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    let mut t = Today::default();
    for (purpose, outcome, n, segments) in rows {
        let count = match Purpose::parse(&purpose) {
            Some(Purpose::SignIn) => &mut t.sign_in,
            Some(Purpose::Marketing) => &mut t.marketing,
            None => continue,
        };
        if outcome == "sent" {
            count.sent += n;
            count.segments += segments;
        } else {
            count.failed += n;
        }
    }
    let mut conn = db.acquire().await?;
    let price = settings(&mut conn, brand.id).await?.fen_per_100;
    t.cost_fen = (t.sign_in.segments + t.marketing.segments) * price / 100;
    let (waiting,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox \
         WHERE brand_id = $1 AND sent_at IS NULL AND dropped_at IS NULL",
    )
    .bind(brand.id.0)
    .fetch_one(&mut *conn)
    .await?;
    t.waiting = waiting;
    let failures: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT created_at, purpose, outcome, reason FROM sms_sends \
         WHERE brand_id = $1 AND outcome <> 'sent' ORDER BY id DESC LIMIT 20",
    )
    .bind(brand.id.0)
    .fetch_all(&mut *conn)
    .await?;
    t.recent_failures = failures
        .into_iter()
        .filter_map(|(at, purpose, outcome, reason)| {
            Some(Failed {
                at,
                purpose: Purpose::parse(&purpose)?,
                outcome,
                reason,
            })
        })
        .collect();
    Ok(t)
}

/// Everything the owner's messages page shows, from one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screen {
    pub settings: Settings,
    /// The operator's ceiling on sign-in codes per day.
    pub sign_in_ceiling: i64,
    pub today: Today,
    /// Each template with its preview: the text with example values and
    /// its billed length.
    pub templates: Vec<(Template, String, templates::Length)>,
    /// The automations that send a message: (id, trigger kind, its text).
    pub automations: Vec<(i64, String, String)>,
}

pub async fn screen(db: &Db, clock: &dyn Clock, who: &Owner, ceiling: i64) -> Result<Screen> {
    let brand = who.brand();
    let mut conn = db.acquire().await?;
    let settings = settings(&mut conn, brand.id).await?;
    drop(conn);
    let automations = crate::marketing::automation::list(db, brand.id)
        .await?
        .into_iter()
        .filter_map(|a| Some((a.id.0, a.trigger.kind().to_owned(), a.message?)))
        .collect();
    Ok(Screen {
        settings,
        sign_in_ceiling: ceiling,
        today: today(db, clock, brand).await?,
        templates: templates::list(db, brand.id)
            .await?
            .into_iter()
            .map(|t| {
                let (text, length) = t.preview(brand);
                (t, text, length)
            })
            .collect(),
        automations,
    })
}

/// Whether a member's reply asks to stop marketing messages: R or TD (the
/// providers' convention), 退订 (退訂), 拒收, STOP or unsubscribe, alone.
pub fn is_opt_out(reply: &str) -> bool {
    let r = reply
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c == '。');
    ["r", "td", "stop", "unsubscribe", "退订", "退訂", "拒收"]
        .iter()
        .any(|w| r.eq_ignore_ascii_case(w))
}

/// A reply from `phone` to messages signed `signature` (as the provider's
/// callback reports it): when it is an opt-out, every brand that signs with
/// it stops marketing to that member. A callback that does not say which
/// signature was answered stops every brand's marketing to that phone: an
/// opt-out is honoured too widely rather than not at all. Returns the
/// members who withdrew.
pub async fn reply(
    db: &Db,
    clock: &dyn Clock,
    signature: Option<&str>,
    phone: &Phone,
    text: &str,
) -> Result<u64> {
    if !is_opt_out(text) {
        return Ok(0);
    }
    let signature = signature
        .map(|s| s.trim().trim_start_matches('【').trim_end_matches('】'))
        .filter(|s| !s.is_empty());
    let now = clock.now_ms();
    let mut tx = db.begin().await?;
    let withdrawn: Vec<(i64, i64)> = sqlx::query_as(
        "UPDATE members SET marketing_consent_at = NULL \
         WHERE phone = $1 AND status = 'active' AND marketing_consent_at IS NOT NULL \
           AND (CAST($2 AS TEXT) IS NULL OR brand_id IN (SELECT id FROM brands WHERE sms_signature = $2 \
                                           OR (sms_signature = '' AND name = $2))) \
         RETURNING brand_id, id",
    )
    .bind(phone.as_str())
    .bind(signature)
    .fetch_all(&mut *tx)
    .await?;
    for (brand, member) in &withdrawn {
        sqlx::query(
            "INSERT INTO member_consents (brand_id, member_id, kind, version, created_at) \
             VALUES ($1, $2, 'marketing_withdrawn', 'sms_reply', $3)",
        )
        .bind(brand)
        .bind(member)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(withdrawn.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marketing_waits_for_the_day_in_the_brands_zone() {
        let s = Settings::default();
        // 2026-12-02 00:30 UTC is 08:30 in Shanghai: too early.
        let early = 1_796_171_400_000;
        assert!(!s.sends_at("Asia/Shanghai", early));
        // An hour later, 09:30 there.
        assert!(s.sends_at("Asia/Shanghai", early + 3_600_000));
        // 13:00 UTC is 21:00 there: the window has closed.
        assert!(!s.sends_at("Asia/Shanghai", early + 12 * 3_600_000 + 30 * 60_000));
    }

    #[test]
    fn the_owner_may_narrow_the_window_but_not_widen_it() {
        let form = |start: &str, end: &str| SettingsForm {
            window_start: start.into(),
            window_end: end.into(),
            marketing_cap: "500".into(),
            sign_in_cap: String::new(),
            price_per_100: "4.5".into(),
        };
        let narrow = form("10:00", "20:30").settings().unwrap();
        assert_eq!((narrow.window_start, narrow.window_end), (600, 1230));
        assert_eq!(narrow.fen_per_100, 450);
        assert!(form("08:00", "20:00").settings().is_err());
        assert!(form("10:00", "22:00").settings().is_err());
        assert!(form("12:00", "11:00").settings().is_err());
        assert!(form("9am", "20:00").settings().is_err());
    }

    #[test]
    fn replies_that_mean_stop() {
        for stop in ["R", "r", " TD ", "退订", "STOP", "拒收。"] {
            assert!(is_opt_out(stop), "{stop}");
        }
        for not in ["谢谢", "Really good", "RR", "N", "取消"] {
            assert!(!is_opt_out(not), "{not}");
        }
    }

    #[test]
    fn the_brand_cap_stays_under_the_operators_ceiling() {
        let mut s = Settings::default();
        assert_eq!(s.sign_in_budget(2_000), 2_000);
        s.sign_in_cap = Some(300);
        assert_eq!(s.sign_in_budget(2_000), 300);
        s.sign_in_cap = Some(5_000);
        assert_eq!(s.sign_in_budget(2_000), 2_000);
    }
}
