//! The demo brand a newcomer sees after `make run`: two stores with tables
//! and an owner account. Seeding is all-or-nothing and happens once.

use serde::Serialize;

use crate::brands::stores::{self, NewStore};
use crate::brands::tables;
use crate::brands::{self, BrandSlug, Language, NewBrand, ThemeColor};
use crate::coupons::{self, NewTemplate, Rule};
use crate::marketing::templates::{self, TemplateFor};
use crate::staff::{self, Role};
use crate::{Clock, Db, Error, Result};

pub const DEMO_SLUG: &str = "demo";
pub const DEMO_OWNER_LOGIN: &str = "demo.owner";

#[derive(Debug, Clone, Serialize)]
pub struct DemoTable {
    pub store: String,
    pub label: String,
    pub token: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoSeed {
    /// False when the demo brand was already there; nothing was changed.
    pub created: bool,
    pub brand_slug: String,
    pub brand_name: String,
    pub owner_login: String,
    /// Only known on the run that created the owner: it is stored hashed.
    pub owner_password: Option<String>,
    pub tables: Vec<DemoTable>,
}

const STORES: [(&str, &str, &str); 2] = [
    ("SH01", "人民广场店", "上海市黄浦区南京东路 100 号"),
    ("SH02", "静安寺店", "上海市静安区南京西路 1800 号"),
];
const TABLES_PER_STORE: usize = 6;

/// The demo's coupons: a welcome gift, two to claim (满200减50, 每周三午市
/// 8折), two to buy with points and one for gold members, as seeds 001 and
/// 002 describe them.
fn demo_coupons() -> Vec<NewTemplate> {
    vec![
        NewTemplate {
            welcome: true,
            per_member_limit: Some(1),
            ..NewTemplate::new(Rule::voucher(1_000).with_threshold(5_000))
        },
        NewTemplate {
            claimable: true,
            per_member_limit: Some(1),
            stock_total: Some(500),
            valid_days: Some(14),
            ..NewTemplate::new(Rule::amount_off(20_000, 5_000))
        },
        NewTemplate {
            claimable: true,
            per_member_limit: Some(2),
            ..NewTemplate::new(
                Rule::percent_off(20, Some(3_000))
                    .on_weekdays(&[3])
                    .between(660, 840),
            )
        },
        NewTemplate {
            points_price: Some(100),
            ..NewTemplate::new(Rule::gift("酸梅汤"))
        },
        NewTemplate {
            points_price: Some(800),
            per_member_limit: Some(5),
            ..NewTemplate::new(Rule::voucher(2_000).with_threshold(10_000))
        },
        NewTemplate {
            claimable: true,
            per_member_limit: Some(1),
            min_tier_rank: 2,
            stacks_with_tier: true,
            ..NewTemplate::new(Rule::amount_off(50_000, 15_000))
        },
    ]
}

/// The demo's marketing (seeds 000–003): daily check-in with a weekly
/// streak bonus, a referral reward, a birthday gift three days ahead and a
/// win-back message after sixty days away.
async fn add_demo_marketing(db: &Db, clock: &dyn Clock, brand: brands::BrandId) -> Result<()> {
    use crate::marketing::automation::{self, NewAutomation, Trigger};
    let actor = crate::staff::audit::Actor {
        brand,
        staff: None,
        ip: None,
    };
    crate::points::checkin::set_rule_by(
        db,
        clock,
        &actor,
        crate::points::checkin::Rule {
            points: 5,
            streak_days: 7,
            streak_bonus: 30,
        },
    )
    .await?;
    crate::marketing::referrals::set_reward_by(
        db,
        clock,
        &actor,
        crate::marketing::referrals::Reward {
            referrer_points: 100,
            friend_points: 50,
            friend_coupon: None,
        },
    )
    .await?;
    for (trigger, points, message) in [
        (
            Trigger::Birthday {
                days_before: Some(3),
            },
            100,
            "{name}，山野小馆祝您生日快乐！100 积分已到账，您现有 {points} 积分，生日当周来店再享惊喜。",
        ),
        (
            Trigger::NoVisit(60),
            50,
            "{name}，好久不见！山野小馆送您 50 积分，期待您再来坐坐。",
        ),
    ] {
        let id = automation::create_by(
            db,
            clock,
            &actor,
            NewAutomation {
                trigger,
                template: None,
                points: Some(points),
                message: Some(message.into()),
            },
        )
        .await?;
        // The provider template it goes out under (the fakes accept any code).
        let code = format!("SMS_DEMO_{}", trigger.kind().to_ascii_uppercase());
        let purpose = TemplateFor::Automation(id);
        let mut conn = db.acquire().await?;
        templates::seed(&mut conn, clock, brand, purpose, Language::ZhCn, &code, message).await?;
    }
    Ok(())
}

async fn add_demo_coupons(
    conn: &mut sqlx::AnyConnection,
    clock: &dyn Clock,
    brand: brands::BrandId,
) -> Result<()> {
    for t in demo_coupons() {
        coupons::create_template(conn, clock, brand, &t).await?;
    }
    Ok(())
}

/// The demo's top-up offers (充值赠送), open-ended, at every store.
const TOP_UP_OFFERS: [(i64, i64); 3] = [(30_000, 3_000), (50_000, 6_000), (100_000, 15_000)];

async fn add_demo_top_up_offers(
    conn: &mut sqlx::AnyConnection,
    clock: &dyn Clock,
    brand: brands::BrandId,
) -> Result<()> {
    for (min_fen, bonus_fen) in TOP_UP_OFFERS {
        let offer = crate::stored_value::rules::NewRule {
            min_fen,
            bonus_fen,
            starts_at: clock.now_ms(),
            ends_at: None,
            stores: None,
        };
        crate::stored_value::rules::insert(conn, clock, brand, &offer).await?;
    }
    Ok(())
}

/// The demo's sign-in templates in Chinese and English, under codes the fake
/// providers accept (an owner enters the codes their provider approved).
async fn add_demo_sign_in_templates(
    conn: &mut sqlx::AnyConnection,
    clock: &dyn Clock,
    brand: brands::BrandId,
) -> Result<()> {
    for (language, code) in [
        (Language::ZhCn, "SMS_DEMO_SIGN_IN"),
        (Language::En, "SMS_DEMO_SIGN_IN_EN"),
    ] {
        let body = templates::default_sign_in(language).source();
        templates::seed(
            conn,
            clock,
            brand,
            TemplateFor::SignIn,
            language,
            code,
            &body,
        )
        .await?;
    }
    Ok(())
}

pub async fn seed(db: &Db, clock: &dyn Clock) -> Result<DemoSeed> {
    let slug = BrandSlug::parse(DEMO_SLUG)?;
    if let Ok(brand) = brands::find_by_slug(db, &slug).await {
        // A demo seeded before coupons existed gets them now, once.
        if coupons::templates(db, brand.id).await?.is_empty() {
            let mut tx = db.begin().await?;
            add_demo_coupons(&mut tx, clock, brand.id).await?;
            tx.commit().await?;
        }
        // And one seeded before stored value gets its top-up offers, one
        // seeded before provider templates its sign-in templates.
        let mut tx = db.begin().await?;
        if !crate::stored_value::rules::any(&mut tx, brand.id).await? {
            add_demo_top_up_offers(&mut tx, clock, brand.id).await?;
        }
        add_demo_sign_in_templates(&mut tx, clock, brand.id).await?;
        tx.commit().await?;
        return existing(db, brand).await;
    }
    let password = staff::generate_password();
    let mut tx = db.begin().await?;
    let brand = match brands::create(
        &mut tx,
        clock,
        NewBrand {
            slug: slug.clone(),
            name: "山野小馆".into(),
            theme_color: ThemeColor::parse("#b4442b")?,
            default_language: Language::ZhCn,
        },
    )
    .await
    {
        Ok(b) => b,
        // Another process seeded it between our look-up and insert.
        Err(Error::BrandSlugTaken) => {
            drop(tx);
            let brand = brands::find_by_slug(db, &slug).await?;
            return existing(db, brand).await;
        }
        Err(e) => return Err(e),
    };
    let mut demo_tables = Vec::new();
    for (code, name, address) in STORES {
        let store = stores::create(
            &mut tx,
            clock,
            brand.id,
            NewStore {
                code: code.into(),
                name: name.into(),
                address: address.into(),
            },
        )
        .await?;
        for n in 1..=TABLES_PER_STORE {
            let label = format!("A{n}");
            let table = tables::create(&mut tx, clock, &brand, store.id, &label).await?;
            demo_tables.push(DemoTable {
                store: store.name.clone(),
                label,
                token: table.token.as_str().to_owned(),
            });
        }
    }
    add_demo_coupons(&mut tx, clock, brand.id).await?;
    add_demo_top_up_offers(&mut tx, clock, brand.id).await?;
    add_demo_sign_in_templates(&mut tx, clock, brand.id).await?;
    staff::create(
        &mut tx,
        clock,
        brand.id,
        Role::Owner,
        DEMO_OWNER_LOGIN,
        "店长",
        &password,
    )
    .await?;
    tx.commit().await?;
    add_demo_marketing(db, clock, brand.id).await?;
    Ok(DemoSeed {
        created: true,
        brand_slug: brand.slug.to_string(),
        brand_name: brand.name,
        owner_login: DEMO_OWNER_LOGIN.into(),
        owner_password: Some(password),
        tables: demo_tables,
    })
}

async fn existing(db: &Db, brand: brands::Brand) -> Result<DemoSeed> {
    let mut demo_tables = Vec::new();
    for store in stores::list(db, brand.id).await? {
        for t in tables::list(db, brand.id, store.id).await? {
            demo_tables.push(DemoTable {
                store: store.name.clone(),
                label: t.label,
                token: t.token.as_str().to_owned(),
            });
        }
    }
    Ok(DemoSeed {
        created: false,
        brand_slug: brand.slug.to_string(),
        brand_name: brand.name,
        owner_login: DEMO_OWNER_LOGIN.into(),
        owner_password: None,
        tables: demo_tables,
    })
}
