//! `latest.json`, `latest.md` with SVG charts (drawn by plotters), and the
//! summary table: each budget of the issue beside what was measured.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

use crate::load::{round, Outcome};
use crate::workload::Endpoint;
use crate::{Results, ServerRun};

struct Budget {
    what: String,
    budget: String,
    measured: String,
    met: bool,
}

/// Writes everything into `dir` and returns the summary table (Markdown).
/// Writes the results and returns the budget table, and the budgets missed.
pub fn write(dir: &Path, name: &str, r: &Results) -> (String, usize) {
    std::fs::create_dir_all(dir).expect("bench/results");
    std::fs::write(
        dir.join(format!("{name}.json")),
        serde_json::to_string_pretty(r).expect("json") + "\n",
    )
    .expect("write latest.json");
    let mut charts = Vec::new();
    for run in &r.server {
        let slug = run.database.to_lowercase();
        let file = format!("{name}-throughput-{slug}.svg");
        throughput_chart(&dir.join(&file), run);
        charts.push((format!("Throughput on {}", run.database), file));
        let file = format!("{name}-p99-{slug}.svg");
        p99_chart(&dir.join(&file), run);
        charts.push((format!("p99 latency on {}", run.database), file));
    }
    for g in &r.growth {
        if g.points.len() > 1 {
            let file = format!("{name}-growth-{}.svg", g.database.to_lowercase());
            growth_chart(&dir.join(&file), g);
            charts.push((format!("Latency as members grow on {}", g.database), file));
        }
    }
    let budgets = budgets(r);
    let summary = budget_table(&budgets);
    let md = markdown(r, &summary, &charts);
    std::fs::write(dir.join(format!("{name}.md")), md).expect("write the report");
    (summary, budgets.iter().filter(|b| !b.met).count())
}

fn kb(bytes: f64) -> String {
    format!("{:.1} KB", bytes / 1000.0)
}

fn at(levels: &[Outcome], c: usize) -> Option<&Outcome> {
    levels.iter().find(|o| o.connections == c)
}

fn endpoint(run: &ServerRun, e: Endpoint) -> Option<&[Outcome]> {
    run.endpoints
        .iter()
        .find(|x| x.endpoint == e)
        .map(|x| x.levels.as_slice())
}

fn raw(run: &ServerRun, e: Endpoint) -> Option<&[Outcome]> {
    run.raw_ceiling
        .iter()
        .find(|x| x.endpoint == e)
        .map(|x| x.levels.as_slice())
}

/// `api`'s throughput as a share of `of`'s at each concurrency both ran.
fn shares(api: &[Outcome], of: &[Outcome]) -> String {
    api.iter()
        .filter_map(|o| {
            let x = at(of, o.connections)?;
            Some(format!(
                "c={}: {:.0} %",
                o.connections,
                100.0 * o.rps / x.rps.max(1.0)
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn floor(run: &ServerRun, e: Endpoint) -> Option<&[Outcome]> {
    run.floor
        .iter()
        .find(|x| x.endpoint == e)
        .map(|x| x.levels.as_slice())
}

/// What issue 25 asks of one database at 32 connections: (endpoint,
/// at least req/s, at most p99 ms).
fn throughput_targets(database: &str) -> &'static [(Endpoint, f64, f64)] {
    if database == "SQLite" {
        &[
            (Endpoint::Purchase, 2_000.0, 25.0),
            (Endpoint::Redeem, 2_600.0, 25.0),
            (Endpoint::Card, 2_500.0, 20.0),
            (Endpoint::Landing, 4_000.0, f64::MAX),
        ]
    } else {
        &[
            (Endpoint::Purchase, 1_000.0, 40.0),
            (Endpoint::Redeem, 1_200.0, 40.0),
            (Endpoint::Card, 2_000.0, 20.0),
            (Endpoint::Landing, 4_000.0, f64::MAX),
        ]
    }
}

fn phone_page<'a>(r: &'a Results, name: &str) -> Option<&'a Value> {
    r.phone.as_ref()?["pages"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
}

fn budgets(r: &Results) -> Vec<Budget> {
    let mut out = Vec::new();
    let mut push = |what: String, budget: &str, measured: String, met: bool| {
        out.push(Budget {
            what,
            budget: budget.into(),
            measured,
            met,
        })
    };
    if let Some(card) = phone_page(r, "card") {
        let first = &card["first"];
        let total = first["bytes"]["total"]["compressed"]
            .as_f64()
            .unwrap_or(f64::MAX);
        push(
            "Card, first visit: compressed total".into(),
            "≤ 200 KB",
            kb(total),
            total <= 200_000.0,
        );
        push(
            "Card, first visit: compressed total (the brief's budget)".into(),
            "≤ 100 KB",
            kb(total),
            total <= 100_000.0,
        );
        let lcp = first["lcp_ms"].as_f64().unwrap_or(f64::MAX);
        push(
            "Card, first visit: LCP".into(),
            "≤ 1500 ms",
            format!("{lcp} ms"),
            lcp <= 1500.0,
        );
        let hydrated = first["hydrated_ms"].as_f64().unwrap_or(f64::MAX);
        push(
            "Card, first visit: hydrated".into(),
            "≤ 3000 ms",
            format!("{hydrated} ms"),
            hydrated <= 3000.0,
        );
        let cls = first["cls"].as_f64().unwrap_or(f64::MAX);
        push(
            "Card, first visit: CLS".into(),
            "≤ 0.05",
            format!("{cls}"),
            cls <= 0.05,
        );
    }
    for run in &r.server {
        for e in [Endpoint::Purchase, Endpoint::Redeem, Endpoint::StoredPay] {
            let (Some(api), Some(ceiling)) = (endpoint(run, e), raw(run, e)) else {
                continue;
            };
            let worst = api
                .iter()
                .filter_map(|o| Some((o, at(ceiling, o.connections)?)))
                .map(|(o, c)| (o.connections, o.rps / c.rps.max(1.0)))
                .fold((0, f64::MAX), |a, b| if b.1 < a.1 { b } else { a });
            push(
                format!(
                    "{} on {}: API ÷ raw ceiling (lowest, at c={})",
                    e.label(),
                    run.database,
                    worst.0
                ),
                "≥ 50 %",
                format!("{:.0} %", worst.1 * 100.0),
                worst.1 >= 0.5,
            );
        }
        for e in [Endpoint::Purchase, Endpoint::Redeem, Endpoint::StoredPay] {
            let (Some(api), Some(floor)) = (
                endpoint(run, e).and_then(|l| at(l, 32)),
                floor(run, e).and_then(|l| at(l, 32)),
            ) else {
                continue;
            };
            let ratio = api.rps / floor.rps.max(1.0);
            push(
                format!(
                    "{} on {}: API ÷ independent floor at 32 connections",
                    e.label(),
                    run.database
                ),
                "≥ 50 %",
                format!(
                    "{:.0} % ({} of {} req/s)",
                    ratio * 100.0,
                    api.rps,
                    floor.rps
                ),
                ratio >= 0.5,
            );
        }
        for (e, rps, p99) in throughput_targets(&run.database) {
            let Some(o) = endpoint(run, *e).and_then(|l| at(l, 32)) else {
                continue;
            };
            let target = if *p99 == f64::MAX {
                format!("≥ {rps} req/s")
            } else {
                format!("≥ {rps} req/s, p99 ≤ {p99} ms")
            };
            push(
                format!("{} on {}: at 32 connections", e.label(), run.database),
                &target,
                format!("{} req/s, p99 {} ms", o.rps, o.p99_ms),
                o.rps >= *rps && o.p99_ms <= *p99,
            );
        }
        let rss = run.memory_after_load.rss_bytes as f64 / 1_048_576.0;
        push(
            format!("Server memory after the load on {}", run.database),
            "≤ 64 MiB",
            format!("{rss:.0} MiB"),
            rss <= 64.0,
        );
        for e in [Endpoint::Landing, Endpoint::Card, Endpoint::Lookup] {
            if let Some(o) = endpoint(run, e).and_then(|l| at(l, 32)) {
                push(
                    format!("{} on {}: p99 at 32 connections", e.label(), run.database),
                    "≤ 50 ms",
                    format!("{} ms", o.p99_ms),
                    o.p99_ms <= 50.0,
                );
            }
        }
    }
    let growth_outcomes = r
        .growth
        .iter()
        .flat_map(|g| &g.points)
        .flat_map(|p| [&p.lookup, &p.card, &p.redeem]);
    let outcomes: Vec<&Outcome> = r
        .server
        .iter()
        .flat_map(|run| {
            run.endpoints
                .iter()
                .chain(&run.raw_ceiling)
                .chain(&run.floor)
        })
        .flat_map(|e| &e.levels)
        .chain(
            r.scale_out
                .iter()
                .flat_map(|x| [&x.one_process, &x.two_processes]),
        )
        .chain(growth_outcomes)
        .collect();
    if !outcomes.is_empty() {
        let failed: u64 = outcomes.iter().map(|o| o.errors).sum();
        push(
            "Failed requests under load (every run above)".into(),
            "0",
            failed.to_string(),
            failed == 0,
        );
        let short = outcomes.iter().filter(|o| o.exhausted).count();
        push(
            "Runs cut short because their coupons ran out".into(),
            "0",
            short.to_string(),
            short == 0,
        );
    }
    for g in &r.growth {
        if let Some(last) = g.points.last() {
            push(
                format!(
                    "RFM segments and churn at {} members ({} purchases) on {}",
                    last.members, last.purchases, g.database
                ),
                "≤ 30 s",
                format!("{} s", last.rfm_and_churn_s),
                last.rfm_and_churn_s <= 30.0,
            );
        }
        if g.points.len() > 1 {
            let (first, last) = (&g.points[0], &g.points[g.points.len() - 1]);
            for (name, pick) in [
                (
                    "lookup",
                    (|p| &p.lookup) as fn(&crate::GrowthPoint) -> &Outcome,
                ),
                ("card page", |p| &p.card),
                ("redemption", |p| &p.redeem),
            ] {
                // Judged on the median and on the tail alike.
                for (quantile, of) in [
                    ("p50", (|o| o.p50_ms) as fn(&Outcome) -> f64),
                    ("p99", |o| o.p99_ms),
                ] {
                    let values: Vec<f64> = g.points.iter().map(|p| of(pick(p))).collect();
                    let (lo, hi) = values
                        .iter()
                        .fold((f64::MAX, 0f64), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
                    let ratio = hi / lo.max(0.001);
                    push(
                        format!(
                            "Growth {}→{} members on {}: {name}, slowest ÷ fastest {quantile}",
                            first.members, last.members, g.database
                        ),
                        "within 2×",
                        format!(
                            "{ratio:.2}× ({quantile} {} ms)",
                            values
                                .iter()
                                .map(|x| x.to_string())
                                .collect::<Vec<_>>()
                                .join(" → ")
                        ),
                        ratio <= 2.0,
                    );
                }
            }
        }
    }
    if let Some(s) = &r.scale_out {
        push(
            "64 concurrent redemptions of one coupon over two processes".into(),
            "1 succeeds, 63 get 409",
            format!(
                "{} succeeded, {} refused as already redeemed",
                s.exactly_once.succeeded,
                s.exactly_once.statuses.get(&409).copied().unwrap_or(0)
            ),
            s.exactly_once.succeeded == 1
                && s.exactly_once.statuses.get(&409).copied() == Some(s.exactly_once.attempts - 1),
        );
        let rl = &s.shared_rate_limit;
        push(
            format!(
                "One key's rate limit ({}/min) over two processes",
                rl.limit_per_minute
            ),
            "the limit holds",
            format!("{} of {} passed", rl.passed, rl.attempts),
            if rl.one_window {
                rl.passed == rl.limit_per_minute as usize
            } else {
                rl.passed <= 2 * rl.limit_per_minute as usize
            },
        );
    }
    for x in &r.skipped {
        out.push(Budget {
            what: format!("Not measured: {x}"),
            budget: "measured".into(),
            measured: "skipped".into(),
            met: false,
        });
    }
    out
}

fn budget_table(b: &[Budget]) -> String {
    let mut s = String::from("| Budget | Target | Measured | Met |\n|---|---|---|---|\n");
    for x in b {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            x.what,
            x.budget,
            x.measured,
            if x.met { "yes" } else { "**no**" }
        );
    }
    s
}

fn markdown(r: &Results, summary: &str, charts: &[(String, String)]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Tablecard benchmark\n");
    let _ = writeln!(
        s,
        "Run {} on {} cores ({}), {} GiB; the run took {} s. \
         Reference measured in the same run: SHA-256 at {} MiB/s on one core, \
         and `GET /healthz` per database below. Written by `make bench`.\n",
        r.started_at,
        r.machine.cores,
        r.machine.cpu,
        r.machine.memory_gib,
        r.duration_s,
        r.reference.cpu_sha256_mib_s
    );
    let _ = writeln!(s, "## Budgets\n\n{summary}");
    if let Some(p) = &r.phone {
        let profile = &p["profile"];
        let _ = writeln!(
            s,
            "## The phone\n\nChromium {}, throttled through the DevTools protocol to {} kbps down, {} kbps up, {} ms RTT, CPU ×{}. \
             Bytes are compressed on the wire (raw in brackets); a repeat visit has the assets cached.\n",
            p["chromium"].as_str().unwrap_or("?"),
            profile["down_kbps"], profile["up_kbps"], profile["rtt_ms"], profile["cpu_slowdown"]
        );
        let _ = writeln!(
            s,
            "| Page | Visit | Total | HTML | CSS | JS | WASM | LCP ms | Hydrated ms | CLS |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        for page in p["pages"].as_array().into_iter().flatten() {
            for visit in ["first", "repeat"] {
                let v = &page[visit];
                let b = |t: &str| {
                    format!(
                        "{} ({})",
                        kb(v["bytes"][t]["compressed"].as_f64().unwrap_or(0.0)),
                        kb(v["bytes"][t]["raw"].as_f64().unwrap_or(0.0))
                    )
                };
                let _ = writeln!(
                    s,
                    "| {} `{}` | {visit} | {} | {} | {} | {} | {} | {} | {} | {} |",
                    page["name"].as_str().unwrap_or("?"),
                    page["path"].as_str().unwrap_or("?"),
                    b("total"),
                    b("html"),
                    b("css"),
                    b("js"),
                    b("wasm"),
                    v["lcp_ms"],
                    v["hydrated_ms"],
                    v["cls"]
                );
            }
        }
        if let Some(card) = phone_page(r, "card") {
            let _ = writeln!(
                s,
                "\nOn the card: WebAssembly memory {:.1} MiB, JavaScript heap used {:.1} MiB.\n",
                card["first"]["wasm_heap_bytes"].as_f64().unwrap_or(0.0) / 1048576.0,
                card["first"]["js_heap_used_bytes"].as_f64().unwrap_or(0.0) / 1048576.0
            );
        }
    }
    for run in &r.server {
        let _ = writeln!(
            s,
            "## The server on {}\n\n{} members (each with 10 ledger rows, 4 coupons and one to five past purchases; 2,000 signed in, 2,000 with a topped-up card that has paid twice), statistics taken after the data is made; one process, its pool of 8 connections; \
             the load generator runs on the same machine. Server memory: {:.0} MiB idle, {:.0} MiB three seconds after the load (peak {:.0} MiB during it).\n",
            run.database,
            run.members,
            run.memory_idle.rss_bytes as f64 / 1048576.0,
            run.memory_after_load.rss_bytes as f64 / 1048576.0,
            run.memory_after_load.peak_rss_bytes as f64 / 1048576.0
        );
        let levels: Vec<usize> = run
            .endpoints
            .first()
            .map(|e| e.levels.iter().map(|o| o.connections).collect())
            .unwrap_or_default();
        let _ = write!(s, "| Endpoint |");
        for c in &levels {
            let _ = write!(s, " c={c}: req/s · p50 · p99 ms |");
        }
        let _ = writeln!(s, " errors |\n|---|{}---|", "---|".repeat(levels.len()));
        let rows = run
            .endpoints
            .iter()
            .map(|e| (e.label.to_string(), &e.levels))
            .chain(
                run.raw_ceiling
                    .iter()
                    .map(|e| (format!("raw ceiling of {}", e.label), &e.levels)),
            )
            .chain(
                run.floor
                    .iter()
                    .map(|e| (format!("independent floor of {}", e.label), &e.levels)),
            );
        for (label, outcomes) in rows {
            let _ = write!(s, "| {label} |");
            for o in outcomes.iter() {
                let _ = write!(s, " {} · {} · {} |", o.rps, o.p50_ms, o.p99_ms);
            }
            let errors: u64 = outcomes.iter().map(|o| o.errors).sum();
            let _ = writeln!(s, " {errors} |");
        }
        for e in [
            Endpoint::Purchase,
            Endpoint::Redeem,
            Endpoint::StoredPay,
            Endpoint::Card,
        ] {
            for (of, what) in [
                (raw(run, e), "its raw ceiling"),
                (
                    floor(run, e),
                    if e == Endpoint::Card {
                        "its independent floor (the card's data in one hand-written query)"
                    } else {
                        "its independent floor (its essential rows alone, one statement each, \
                         one transaction)"
                    },
                ),
            ] {
                if let (Some(api), Some(of)) = (endpoint(run, e), of) {
                    let _ = writeln!(
                        s,
                        "\n{} as a share of {what}: {}.",
                        e.label(),
                        shares(api, of)
                    );
                }
            }
        }
        if let Some(h) = endpoint(run, Endpoint::Healthz).and_then(|l| at(l, 32)) {
            let _ = writeln!(
                s,
                "\nReference: `GET /healthz` at 32 connections served {} req/s; the other endpoints are fractions of that on this machine.\n",
                h.rps
            );
        }
    }
    for g in &r.growth {
        let _ = writeln!(
            s,
            "## Growth on {}\n\nOne connection; each endpoint measured three times in turn, the p50 and p99 the median of the three; every member has ten ledger rows, two coupons and one to five purchases over two years; each size is generated on top of the last. RFM and churn: the owner's insight page over every member.\n\n\
             | Members | Ledger rows | Purchases | Generated in s | RFM and churn s | Lookup p50 · p99 ms | Card p50 · p99 ms | Redemption p50 · p99 ms |\n|---|---|---|---|---|---|---|---|",
            g.database
        );
        for p in &g.points {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} · {} | {} · {} | {} · {} |",
                p.members,
                p.ledger_rows,
                p.purchases,
                p.generate_s,
                p.rfm_and_churn_s,
                p.lookup.p50_ms,
                p.lookup.p99_ms,
                p.card.p50_ms,
                p.card.p99_ms,
                p.redeem.p50_ms,
                p.redeem.p99_ms
            );
        }
        let _ = writeln!(s);
    }
    if let Some(x) = &r.scale_out {
        let _ = writeln!(
            s,
            "## Scale-out on PostgreSQL\n\nMixed API traffic (60 % lookups, 25 % purchases, 15 % redemptions) at {} connections: \
             one process {} req/s (p99 {} ms); two processes, connections alternating between them, {} req/s (p99 {} ms): {:.2}× on {} cores shared with the database and the load generator.\n\n\
             64 concurrent redemptions of one coupon, alternating between the processes: {} succeeded; statuses {:?}.\n\n\
             One API key limited to {} requests a minute, {} lookups over both processes: {} passed, {} refused with 429{}.\n",
            x.connections,
            x.one_process.rps,
            x.one_process.p99_ms,
            x.two_processes.rps,
            x.two_processes.p99_ms,
            x.two_processes.rps / x.one_process.rps.max(1.0),
            r.machine.cores,
            x.exactly_once.succeeded,
            x.exactly_once.statuses,
            x.shared_rate_limit.limit_per_minute,
            x.shared_rate_limit.attempts,
            x.shared_rate_limit.passed,
            x.shared_rate_limit.refused_429,
            if x.shared_rate_limit.one_window { "" } else { " (the attempts straddled a minute)" }
        );
    }
    if !charts.is_empty() {
        let _ = writeln!(s, "## Charts\n");
        for (title, file) in charts {
            let _ = writeln!(s, "![{title}]({file})\n");
        }
    }
    let _ = writeln!(
        s,
        "## Time\n\n{}\n",
        r.stages
            .iter()
            .map(|(name, secs)| format!("{name} {secs} s"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !r.skipped.is_empty() {
        let _ = writeln!(s, "## Not measured\n");
        for x in &r.skipped {
            let _ = writeln!(s, "- {x}");
        }
    }
    s
}

/// A line: its name, its points, and whether it is drawn thin (a ceiling).
type Series = (String, Vec<(f64, f64)>, bool);

const COLORS: [RGBColor; 7] = [
    RGBColor(120, 120, 120),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

fn line_chart(path: &Path, title: &str, x_desc: &str, y_desc: &str, series: &[Series]) {
    let xs = series.iter().flat_map(|s| s.1.iter().map(|p| p.0));
    let (x_min, x_max) = xs.fold((f64::MAX, f64::MIN), |a, x| (a.0.min(x), a.1.max(x)));
    let y_max = series
        .iter()
        .flat_map(|s| s.1.iter().map(|p| p.1))
        .fold(1.0f64, f64::max);
    let root = SVGBackend::new(path, (760, 420)).into_drawing_area();
    let draw = || -> Result<(), Box<dyn std::error::Error + '_>> {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x_min..x_max).log_scale(), 0.0..y_max * 1.1)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&|x| format!("{}", round(*x, 0)))
            .draw()?;
        for (i, (name, points, dashed)) in series.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let style = ShapeStyle::from(&color).stroke_width(if *dashed { 1 } else { 2 });
            chart
                .draw_series(LineSeries::new(points.clone(), style))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
        Ok(())
    };
    if let Err(e) = draw() {
        eprintln!("bench: chart {} not drawn: {e}", path.display());
    }
}

fn throughput_chart(path: &Path, run: &ServerRun) {
    // `/healthz` (tens of thousands a second) would flatten the rest; it is
    // in the table.
    let mut series: Vec<Series> = run
        .endpoints
        .iter()
        .filter(|e| e.endpoint != Endpoint::Healthz)
        .map(|e| {
            (
                e.label.to_string(),
                e.levels
                    .iter()
                    .map(|o| (o.connections as f64, o.rps))
                    .collect(),
                false,
            )
        })
        .collect();
    series.extend(run.floor.iter().map(|e| {
        (
            format!("floor: {}", e.label),
            e.levels
                .iter()
                .map(|o| (o.connections as f64, o.rps))
                .collect(),
            true,
        )
    }));
    series.extend(run.raw_ceiling.iter().map(|e| {
        (
            format!("raw ceiling: {}", e.label),
            e.levels
                .iter()
                .map(|o| (o.connections as f64, o.rps))
                .collect(),
            true,
        )
    }));
    line_chart(
        path,
        &format!("Requests per second on {}", run.database),
        "concurrent connections",
        "requests/s",
        &series,
    );
}

fn p99_chart(path: &Path, run: &ServerRun) {
    let series: Vec<Series> = run
        .endpoints
        .iter()
        .map(|e| {
            (
                e.label.to_string(),
                e.levels
                    .iter()
                    .map(|o| (o.connections as f64, o.p99_ms))
                    .collect(),
                false,
            )
        })
        .collect();
    line_chart(
        path,
        &format!("p99 latency on {}", run.database),
        "concurrent connections",
        "ms",
        &series,
    );
}

fn growth_chart(path: &Path, g: &crate::Growth) {
    let pick = |f: fn(&crate::GrowthPoint) -> &Outcome| -> Vec<(f64, f64)> {
        g.points
            .iter()
            .map(|p| (p.members as f64, f(p).p50_ms))
            .collect()
    };
    line_chart(
        path,
        &format!("p50 latency by members on {}", g.database),
        "members",
        "ms",
        &[
            ("lookup".into(), pick(|p| &p.lookup), false),
            ("card page".into(), pick(|p| &p.card), false),
            ("redemption".into(), pick(|p| &p.redeem), false),
        ],
    );
}
