use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::i18n::*;

/// The sentence for a refusal or confirmation a form post redirected with
/// (`?error=code_wrong&left=3`, `?saved=1`). Unknown keys show nothing.
pub fn notice_text(locale: Locale) -> Option<(bool, String)> {
    let query = use_query_map().get_untracked();
    let number = |k: &str| {
        query
            .get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0)
            .clamp(0, 86_400)
    };
    let secs = number("secs");
    if let Some(error) = query.get("error") {
        let text = match error.as_str() {
            "phone_invalid" => td_string!(locale, err_phone_invalid).to_string(),
            "code_format" => td_string!(locale, err_code_format).to_string(),
            "code_wrong" => td_string!(locale, err_code_wrong, left = number("left")).to_string(),
            "code_expired" => td_string!(locale, err_code_expired).to_string(),
            "code_dead" if secs > 0 => {
                td_string!(locale, err_code_dead_wait, secs = secs).to_string()
            }
            "code_dead" => td_string!(locale, err_code_dead).to_string(),
            "code_missing" => td_string!(locale, err_code_missing).to_string(),
            "resend_wait" => td_string!(locale, err_resend_wait, secs = secs).to_string(),
            "code_limit" => td_string!(locale, err_code_limit, mins = (secs + 59) / 60).to_string(),
            "not_delivered" => td_string!(locale, err_not_delivered).to_string(),
            "terms" => td_string!(locale, err_terms).to_string(),
            "invalid_birthday" => td_string!(locale, err_birthday).to_string(),
            "invalid_display_name" => td_string!(locale, err_name).to_string(),
            "invalid_allergies" => td_string!(locale, err_allergies).to_string(),
            "confirm_delete" => td_string!(locale, err_confirm_delete).to_string(),
            "coupon_out_of_stock" => td_string!(locale, err_coupon_out_of_stock).to_string(),
            "coupon_limit_reached" => td_string!(locale, err_coupon_limit_reached).to_string(),
            "not_enough_points" => td_string!(locale, err_not_enough_points).to_string(),
            "coupon_tier" => td_string!(locale, err_coupon_tier).to_string(),
            "coupon_not_offered" => td_string!(locale, err_coupon_not_offered).to_string(),
            "nps_missing" => td_string!(locale, err_nps_missing).to_string(),
            "invalid_comment" => td_string!(locale, err_comment_long).to_string(),
            "invalid_visit_date" => td_string!(locale, err_visit_date).to_string(),
            "invalid_store" => td_string!(locale, err_store).to_string(),
            "feedback_too_often" => td_string!(locale, err_feedback_too_often).to_string(),
            "staff_sign_in_failed" => td_string!(locale, err_staff_sign_in_failed).to_string(),
            "staff_locked" => {
                td_string!(locale, err_staff_locked, mins = (secs + 59) / 60).to_string()
            }
            "reply_invalid" => td_string!(locale, err_reply_invalid).to_string(),
            "feedback_not_found" => td_string!(locale, err_feedback_not_found).to_string(),
            "member_not_found" => td_string!(locale, err_member_not_found).to_string(),
            "order_already_recorded" => td_string!(locale, err_order_already_recorded).to_string(),
            "points_cap" => {
                let max = query
                    .get("max")
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0)
                    .max(0);
                td_string!(locale, err_points_cap, max = max).to_string()
            }
            "coupon_not_found" => td_string!(locale, err_coupon_not_found).to_string(),
            "coupon_refused" => td_string!(locale, err_coupon_refused).to_string(),
            "in_progress" => td_string!(locale, err_in_progress).to_string(),
            "invalid_amount" => td_string!(locale, err_invalid_amount).to_string(),
            "invalid_bill" => td_string!(locale, err_invalid_bill).to_string(),
            "invalid_order" => td_string!(locale, err_invalid_order).to_string(),
            "invalid_points" => td_string!(locale, err_invalid_points).to_string(),
            "form_already_used" => td_string!(locale, err_form_already_used).to_string(),
            "invalid_form_key" => td_string!(locale, err_invalid_form_key).to_string(),
            "order_required" => td_string!(locale, err_order_required).to_string(),
            "staff_login_taken" => td_string!(locale, err_staff_login_taken).to_string(),
            "staff_not_found" => td_string!(locale, err_staff_not_found).to_string(),
            "staff_self_change" => td_string!(locale, err_staff_self_change).to_string(),
            "invalid_stores" => td_string!(locale, err_invalid_stores).to_string(),
            "invalid_login" => td_string!(locale, err_invalid_login).to_string(),
            "invalid_role" => td_string!(locale, err_invalid_role).to_string(),
            "password_mismatch" => td_string!(locale, err_password_mismatch).to_string(),
            "wrong_current_password" => td_string!(locale, err_wrong_current_password).to_string(),
            "invalid_password" => td_string!(locale, err_invalid_password).to_string(),
            "invalid_reason" => td_string!(locale, err_invalid_reason).to_string(),
            "invalid_template" => td_string!(locale, err_invalid_template).to_string(),
            "invalid_theme_color" => td_string!(locale, err_invalid_theme_color).to_string(),
            "invalid_default_locale" => td_string!(locale, err_invalid_default_locale).to_string(),
            "invalid_time_zone" => td_string!(locale, err_invalid_time_zone).to_string(),
            "invalid_embed_origins" => td_string!(locale, err_invalid_embed_origins).to_string(),
            "invalid_terms_version" => td_string!(locale, err_invalid_terms_version).to_string(),
            "terms_need_version" => td_string!(locale, err_terms_need_version).to_string(),
            "invalid_terms_text" => td_string!(locale, err_invalid_terms_text).to_string(),
            "invalid_earn" => td_string!(locale, err_invalid_earn).to_string(),
            "invalid_signup_bonus" => td_string!(locale, err_invalid_signup_bonus).to_string(),
            "invalid_expiry" => td_string!(locale, err_invalid_expiry).to_string(),
            "invalid_redeem_rate" => td_string!(locale, err_invalid_redeem_rate).to_string(),
            "invalid_redeem_cap" => td_string!(locale, err_invalid_redeem_cap).to_string(),
            "invalid_bonus" => td_string!(locale, err_invalid_bonus).to_string(),
            "invalid_feedback_points" => {
                td_string!(locale, err_invalid_feedback_points).to_string()
            }
            "invalid_feedback_coupon" => {
                td_string!(locale, err_invalid_feedback_coupon).to_string()
            }
            "segment_too_large" => td_string!(locale, err_segment_too_large).to_string(),
            "invalid_tier_name" => td_string!(locale, err_invalid_tier_name).to_string(),
            "invalid_tier_threshold" => td_string!(locale, err_invalid_tier_threshold).to_string(),
            "invalid_tier_discount" => td_string!(locale, err_invalid_tier_discount).to_string(),
            "invalid_tier_multiplier" => {
                td_string!(locale, err_invalid_tier_multiplier).to_string()
            }
            "invalid_tiers" => td_string!(locale, err_invalid_tiers).to_string(),
            "logo_type" => td_string!(locale, err_logo_type).to_string(),
            "logo_size" => td_string!(locale, err_logo_size).to_string(),
            "logo_missing" => td_string!(locale, err_logo_missing).to_string(),
            "invalid_sms_signature" => td_string!(locale, err_invalid_sms_signature).to_string(),
            "invalid_adjust_points" => td_string!(locale, err_invalid_adjust_points).to_string(),
            "invalid_staff_name" => td_string!(locale, err_invalid_staff_name).to_string(),
            "store_code_taken" => td_string!(locale, err_store_code_taken).to_string(),
            "table_label_taken" => td_string!(locale, err_table_label_taken).to_string(),
            "table_not_found" => td_string!(locale, err_table_not_found).to_string(),
            "invalid_code" => td_string!(locale, err_invalid_code).to_string(),
            "invalid_name" => td_string!(locale, err_invalid_name).to_string(),
            "invalid_label" => td_string!(locale, err_invalid_label).to_string(),
            "invalid_count" => td_string!(locale, err_invalid_count).to_string(),
            "check_in_off" => td_string!(locale, err_check_in_off).to_string(),
            "automation_not_found" => td_string!(locale, err_automation_not_found).to_string(),
            "invalid_trigger" => td_string!(locale, err_invalid_trigger).to_string(),
            "invalid_days" => td_string!(locale, err_invalid_days).to_string(),
            "invalid_visits" => td_string!(locale, err_invalid_visits).to_string(),
            "invalid_action" => td_string!(locale, err_invalid_action).to_string(),
            "invalid_message" => td_string!(locale, err_invalid_message).to_string(),
            "invalid_checkin" => td_string!(locale, err_invalid_checkin).to_string(),
            "invalid_referral" => td_string!(locale, err_invalid_referral).to_string(),
            _ => return None,
        };
        return Some((true, text));
    }
    let text = if query.get("sent").is_some() {
        td_string!(locale, notice_sent).to_string()
    } else if query.get("replied").is_some() {
        td_string!(locale, notice_replied).to_string()
    } else if query.get("saved").is_some() {
        td_string!(locale, notice_saved).to_string()
    } else {
        match query.get("notice").as_deref() {
            Some("signed_out") => td_string!(locale, notice_signed_out).to_string(),
            Some("deleted") => td_string!(locale, notice_deleted).to_string(),
            _ => return None,
        }
    };
    Some((false, text))
}

/// Shows the page's notice, announced to screen readers.
#[component]
pub fn Notice(locale: Locale) -> impl IntoView {
    notice_text(locale).map(|(is_error, text)| {
        if is_error {
            view! {
                <p class="alert error" role="alert">
                    {text}
                </p>
            }
            .into_any()
        } else {
            view! {
                <p class="alert ok" role="status">
                    {text}
                </p>
            }
            .into_any()
        }
    })
}
