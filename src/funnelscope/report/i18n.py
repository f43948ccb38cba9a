"""Every label, heading and sentence of the charts, report and dashboard, in English and Chinese.

``t(key, lang, **values)`` returns the string for ``lang`` ("en" or "zh") with ``{name}``
placeholders filled from ``values``. Each key has both languages with the same placeholders
(tests/report/test_i18n.py checks this, and that every key used in the code and templates
exists). Data values (event names, channels, owners) are shown as they are in the data.
"""

from __future__ import annotations

from typing import Any

from funnelscope.errors import ConfigError

LANGS = ("en", "zh")

STRINGS: dict[str, dict[str, str]] = {
    # ---- general ------------------------------------------------------------------------
    "app_name": {"en": "funnelscope", "zh": "funnelscope"},
    "language": {"en": "Language", "zh": "语言"},
    "lang_en": {"en": "English", "zh": "English"},
    "lang_zh": {"en": "中文", "zh": "中文"},
    "entities": {"en": "Entities", "zh": "人数"},
    "users": {"en": "Users", "zh": "用户数"},
    "customers": {"en": "Customers", "zh": "客户数"},
    "deals": {"en": "Deals", "zh": "商机数"},
    "n_customers": {"en": "{n} customers", "zh": "{n} 位客户"},
    "amount": {"en": "Amount", "zh": "金额"},
    "conversion": {"en": "Conversion", "zh": "转化率"},
    "conversion_from_start": {"en": "Conversion from first step", "zh": "相对首步转化率"},
    "conversion_from_previous": {"en": "Conversion from previous step", "zh": "相对上一步转化率"},
    "ci95": {"en": "95% interval", "zh": "95% 置信区间"},
    "median": {"en": "Median", "zh": "中位数"},
    "overall": {"en": "Overall", "zh": "整体"},
    "period": {"en": "Period", "zh": "周期"},
    "day": {"en": "Day", "zh": "日期"},
    "days": {"en": "Days", "zh": "天数"},
    "hours": {"en": "Hours", "zh": "小时"},
    "minutes": {"en": "Minutes", "zh": "分钟"},
    "seconds": {"en": "Seconds", "zh": "秒"},
    "dur_days": {"en": "d", "zh": "天"},
    "dur_hours": {"en": "h", "zh": "小时"},
    "dur_minutes": {"en": "min", "zh": "分钟"},
    "dur_seconds": {"en": "s", "zh": "秒"},
    "unit_day": {"en": "days", "zh": "天"},
    "unit_week": {"en": "weeks", "zh": "周"},
    "unit_month": {"en": "months", "zh": "月"},
    "unit_quarter": {"en": "quarters", "zh": "季度"},
    "stage": {"en": "Stage", "zh": "阶段"},
    "channel": {"en": "Channel", "zh": "渠道"},
    "cohort": {"en": "Cohort", "zh": "同期群"},
    "step": {"en": "Step", "zh": "步骤"},
    "group": {"en": "Group", "zh": "分组"},
    "dropped": {"en": "Dropped", "zh": "流失"},
    "still_converting": {"en": "Still converting", "zh": "仍在转化中"},
    "median_time": {"en": "Median time from previous", "zh": "距上一步中位时长"},
    "p_value": {"en": "p-value", "zh": "p 值"},
    "none": {"en": "none", "zh": "无"},
    # ---- funnel charts ----------------------------------------------------------------
    "reached_step": {"en": "Reached the step", "zh": "到达该步"},
    "lost_since_previous": {"en": "Lost since the previous step", "zh": "较上一步流失"},
    "chart_funnel": {"en": "Funnel: entities per step", "zh": "漏斗：各步骤人数"},
    "entrants": {"en": "Entrants", "zh": "进入人数"},
    "entry_period": {"en": "Entry period", "zh": "进入周期"},
    "chart_trend": {"en": "Conversion by entry period", "zh": "按进入周期的转化率"},
    "chart_time_to_convert": {"en": "Time from {a} to {b}", "zh": "从 {a} 到 {b} 的时长"},
    "chart_breakdown": {"en": "Conversion by {by}", "zh": "按 {by} 的转化率"},
    # ---- funnel comparison chart (funnel --compare / --compare-by) ----------------------
    "chart_funnel_compare": {"en": "Funnels compared: conversion from the first step",
                             "zh": "漏斗对比：相对首步转化率"},
    "chart_funnel_compare_by": {"en": "Funnels compared by {by}: conversion from the first step",
                                "zh": "按 {by} 对比漏斗：相对首步转化率"},
    "compare_reference": {"en": "Reference", "zh": "基准"},
    "compare_difference": {"en": "Difference vs reference", "zh": "与基准之差"},
    "compare_points": {"en": "pp", "zh": "个百分点"},
    "compare_significant": {"en": "significant (p < 0.05)", "zh": "显著（p < 0.05）"},
    "compare_not_significant": {"en": "not significant", "zh": "不显著"},
    # ---- pipeline charts --------------------------------------------------------------
    "deals_reached": {"en": "Deals that reached the stage", "zh": "到达该阶段的商机"},
    "deals_lost_here": {"en": "Deals lost at the stage", "zh": "在该阶段流失的商机"},
    "chart_pipeline_funnel": {"en": "Pipeline: deals per stage", "zh": "销售管道：各阶段商机数"},
    "median_days_in_stage": {"en": "Median days in stage", "zh": "阶段停留天数中位数"},
    "p90_days_in_stage": {"en": "90th percentile days in stage", "zh": "阶段停留天数第 90 百分位"},
    "chart_velocity": {"en": "Pipeline velocity: time in each stage", "zh": "管道速度：各阶段停留时长"},
    "category_pipeline": {"en": "Pipeline", "zh": "管道"},
    "category_best_case": {"en": "Best Case", "zh": "最佳情况"},
    "category_commit": {"en": "Commit", "zh": "承诺"},
    "category_closed": {"en": "Closed", "zh": "已成交"},
    "category_omitted": {"en": "Omitted", "zh": "排除"},
    "forecast_category": {"en": "Forecast category", "zh": "预测类别"},
    "weighted_forecast": {"en": "Weighted pipeline forecast", "zh": "加权管道预测"},
    "learned_forecast": {"en": "Learned forecast", "zh": "学习模型预测"},
    "chart_forecast": {"en": "Forecast of {period} by category", "zh": "{period} 按类别的预测"},
    "actual_won": {"en": "Actually won", "zh": "实际赢单"},
    "chart_forecast_vs_actual": {"en": "Forecast vs actual", "zh": "预测与实际对比"},
    "win_rate": {"en": "Win rate", "zh": "赢单率"},
    "chart_win_rates": {"en": "Win rate by close period", "zh": "按关闭周期的赢单率"},
    # ---- retention charts -------------------------------------------------------------
    "retained": {"en": "Retained", "zh": "留存率"},
    "chart_retention": {"en": "Retention by cohort", "zh": "同期群留存"},
    "chart_retention_curve": {"en": "Average retention curve", "zh": "平均留存曲线"},
    "periods_since_start": {"en": "{unit} since start", "zh": "开始后的{unit}数"},
    "lifecycle_new": {"en": "New", "zh": "新增"},
    "lifecycle_returning": {"en": "Returning", "zh": "持续活跃"},
    "lifecycle_resurrected": {"en": "Resurrected", "zh": "回流"},
    "lifecycle_dormant": {"en": "Went dormant", "zh": "转为沉睡"},
    "chart_lifecycle": {"en": "User lifecycle per period", "zh": "各周期的用户生命周期"},
    "dau": {"en": "Daily actives", "zh": "日活跃用户"},
    "wau_7d": {"en": "7-day actives", "zh": "7 日活跃用户"},
    "mau_30d": {"en": "30-day actives", "zh": "30 日活跃用户"},
    "chart_actives": {"en": "Active users", "zh": "活跃用户"},
    "still_active": {"en": "Still active", "zh": "仍活跃比例"},
    "chart_survival": {"en": "Customer survival (Kaplan–Meier)", "zh": "客户存活曲线（Kaplan–Meier）"},
    "days_since_start": {"en": "Days since start", "zh": "开始后的天数"},
    "churn_rate": {"en": "Churn rate", "zh": "流失率"},
    "chart_churn": {"en": "Churn rate per period", "zh": "各周期流失率"},
    "new_users": {"en": "New users", "zh": "新用户"},
    "paying_conversion": {"en": "Paying conversion", "zh": "付费转化率"},
    "chart_channels": {"en": "Acquisition by channel", "zh": "各渠道获客"},
    "chart_metrics": {"en": "Metric chain", "zh": "指标链"},
    # ---- value charts -----------------------------------------------------------------
    "recency_score": {"en": "Recency score", "zh": "最近购买得分"},
    "frequency_score": {"en": "Frequency score", "zh": "购买频次得分"},
    "recency_score_axis": {"en": "Recency score (5 = most recent)", "zh": "最近购买得分（5 = 最近）"},
    "frequency_score_axis": {"en": "Frequency score (5 = most often)", "zh": "购买频次得分（5 = 最频繁）"},
    "average_monetary": {"en": "Average spend", "zh": "平均消费额"},
    "chart_rfm_grid": {"en": "RFM grid: customers by recency and frequency", "zh": "RFM 网格：按最近购买与频次的客户分布"},
    "customer_share": {"en": "Share of customers", "zh": "客户占比"},
    "revenue_share": {"en": "Share of revenue", "zh": "收入占比"},
    "chart_rfm_segments": {"en": "RFM segments: customers and revenue", "zh": "RFM 分群：客户与收入"},
    "vs_average_sd": {"en": "vs. average (SD)", "zh": "相对均值（标准差）"},
    "chart_cluster_profiles": {"en": "Customer clusters: feature profiles", "zh": "客户聚类：特征画像"},
    "feature_recency_days": {"en": "Days since last order", "zh": "距上次购买天数"},
    "feature_frequency": {"en": "Orders", "zh": "订单数"},
    "feature_monetary": {"en": "Total spend", "zh": "总消费额"},
    "feature_average_order_value": {"en": "Average order value", "zh": "客单价"},
    "feature_tenure_days": {"en": "Tenure (days)", "zh": "客户时长（天）"},
    "feature_active_days": {"en": "Active days", "zh": "活跃天数"},
    "feature_events": {"en": "Events", "zh": "事件数"},
    "feature_funnel_depth": {"en": "Funnel depth", "zh": "漏斗深度"},
    "chart_clv": {"en": "Predicted customer lifetime value", "zh": "预测客户终身价值"},
    "per_customer": {"en": "Per new customer", "zh": "每位新客户"},
    "chart_cac": {"en": "Acquisition cost vs lifetime value", "zh": "获客成本与终身价值"},
    "chart_benchmark": {"en": "Your figures against the industry benchmark",
                        "zh": "您的指标与行业基准对比"},
    "benchmark_ratio": {"en": "yours ÷ benchmark (1 = on par)", "zh": "您的值 ÷ 基准（1 = 持平）"},
    # ---- experiment and watch (charts, report sections, dashboard) ---------------------
    "chart_experiment_rates": {"en": "Conversion rate per variant", "zh": "各版本转化率"},
    "chart_experiment_lift": {"en": "Lift over the control", "zh": "相对对照组的提升"},
    "variant": {"en": "Variant", "zh": "版本"},
    "conversions": {"en": "Conversions", "zh": "转化数"},
    "interval_level": {"en": "{level} interval", "zh": "{level} 置信区间"},
    "relative_lift": {"en": "Relative lift", "zh": "相对提升"},
    "absolute_lift": {"en": "Absolute lift", "zh": "绝对提升"},
    "sequential_ci": {"en": "Always-valid (sequential) interval", "zh": "序贯（随时有效）置信区间"},
    "chance_to_win": {"en": "Chance to beat control", "zh": "胜过对照组的概率"},
    "p_adjusted": {"en": "p (adjusted)", "zh": "p 值（校正后）"},
    "chart_watch": {"en": "Daily conversion against its expected band",
                    "zh": "每日转化率与预期区间"},
    "conversion_to": {"en": "Conversion to {step}", "zh": "到「{step}」的转化率"},
    "observed": {"en": "Observed", "zh": "实际值"},
    "expected": {"en": "Expected", "zh": "预期值"},
    "expected_band": {"en": "Expected band", "zh": "预期区间"},
    "alert": {"en": "Alert", "zh": "告警"},
    "not_judged": {"en": "not judged (window still open or too few entrants)",
                   "zh": "未判定（窗口未结束或进入人数过少）"},
    "direction_up": {"en": "up", "zh": "上升"},
    "direction_down": {"en": "down", "zh": "下降"},
    "direction": {"en": "Direction", "zh": "方向"},
    "size": {"en": "Change", "zh": "变化"},
    "date": {"en": "Date", "zh": "日期"},
    "band": {"en": "Band", "zh": "区间"},
    "top_segments": {"en": "Top segments", "zh": "主要贡献分群"},
    "top_segment_item": {"en": "{segment} ({share} of the change)", "zh": "{segment}（占变化的 {share}）"},
    "section_experiment": {"en": "Experiment", "zh": "A/B 实验"},
    "section_watch": {"en": "Conversion alerts", "zh": "转化告警"},
    "nav_alerts": {"en": "Alerts", "zh": "告警"},
    "nav_experiments": {"en": "Experiments", "zh": "实验"},
    "experiment_heading": {"en": "Experiment “{name}”", "zh": "实验「{name}」"},
    "experiment_definition": {
        "en": "{users} users compared, control: {control}; conversion = {steps} within "
              "{window} of each user's first exposure; {level} intervals.",
        "zh": "共比较 {users} 位用户（对照组为 {control}）；转化 = 首次曝光后 {window} 内完成"
              "「{steps}」；{level} 置信区间。"},
    "experiment_comparison": {
        "en": "{variant} vs {control} ({metric}): {lift} relative lift ({level} interval {low} "
              "to {high}), p = {p}; chance to beat the control {chance}.",
        "zh": "{variant} 对比 {control}（{metric}）：相对提升 {lift}（{level} 置信区间 {low} 至 "
              "{high}），p = {p}；胜过对照组的概率 {chance}。"},
    "experiment_significant": {"en": "Significant at α = {alpha} after adjustment.",
                               "zh": "校正后在 α = {alpha} 水平显著。"},
    "experiment_not_significant": {"en": "Not significant at α = {alpha} after adjustment.",
                                   "zh": "校正后在 α = {alpha} 水平不显著。"},
    "srm_ok": {"en": "Sample ratio OK (chi-square p = {p}).", "zh": "样本比例正常（卡方检验 p = {p}）。"},
    "srm_bad": {"en": "Sample ratio mismatch (chi-square p = {p}): the users were not split as "
                      "planned; do not trust these comparisons until the assignment is fixed.",
                "zh": "样本比例失衡（卡方检验 p = {p}）：用户分配与计划不符，修复分配之前不要相信这些比较结果。"},
    "watch_heading": {"en": "Watch: funnel “{name}”", "zh": "监控：漏斗「{name}」"},
    "watch_definition": {
        "en": "{steps} within {window}: each day against the same weekday of the previous "
              "{weeks} weeks (band: their median ± {k} × the typical prediction error of those "
              "weeks, never narrower than {k} sampling errors).",
        "zh": "{window} 内完成「{steps}」：每天与前 {weeks} 周同一星期几比较（区间：其中位数 ± "
              "{k} × 这几周的典型预测误差，且不窄于 {k} 个抽样误差）。"},
    "watch_no_alerts": {"en": "No alerts in the last {days} days ({first} to {last}).",
                        "zh": "最近 {days} 天（{first} 至 {last}）没有告警。"},
    "watch_alerts": {"en": "{n} alert(s) in the last {days} days ({first} to {last}).",
                     "zh": "最近 {days} 天（{first} 至 {last}）共有 {n} 条告警。"},
    "watch_alert_sentence": {
        "en": "{date}: {metric} went {direction} to {observed} (expected {expected}, band "
              "{low}–{high}).",
        "zh": "{date}：{metric}{direction}至 {observed}（预期 {expected}，区间 {low}–{high}）。"},
    "abtest_heading": {"en": "A/B test calculator (counts)", "zh": "A/B 测试计算器（按计数）"},
    "abtest_intro": {"en": "Compare conversions/users of a control and treatments, e.g. 200/1000; "
                           "name a treatment with NAME=250/1000. Same numbers as `funnelscope abtest`.",
                     "zh": "比较对照组与实验组的 转化数/用户数，如 200/1000；可用 名称=250/1000 为实验组命名。"
                           "结果与 `funnelscope abtest` 相同。"},
    "control_counts": {"en": "Control (conversions/users)", "zh": "对照组（转化数/用户数）"},
    "treatment_counts": {"en": "Treatments (one per line)", "zh": "实验组（每行一个）"},
    "alpha_label": {"en": "Significance level α", "zh": "显著性水平 α"},
    "compare": {"en": "Compare", "zh": "比较"},
    "sample_size_heading": {"en": "Sample size", "zh": "样本量"},
    "sample_size_sentence": {
        "en": "To detect {baseline} → {target} with {power} power at α = {alpha} (two-sided): "
              "{n} users per variant, {total} in all.",
        "zh": "在 α = {alpha}（双侧）、检验功效 {power} 下检测 {baseline} → {target}：每个版本需 "
              "{n} 位用户，共 {total} 位。"},
    "baseline_rate": {"en": "Baseline rate", "zh": "基线转化率"},
    "mde_label": {"en": "Minimum detectable effect (rate points)", "zh": "最小可检测效应（百分点，小数）"},
    "power_label": {"en": "Power", "zh": "检验功效"},
    "no_exposures": {"en": "The workspace has no exposures table: load one (user_id, experiment, "
                           "variant, ts) to see experiments here.",
                     "zh": "工作区中没有 exposures 数据表：导入一个（user_id, experiment, variant, ts）"
                           "后即可在此查看实验。"},
    "no_watch_funnel": {"en": "Name a funnel in funnelscope.yml to watch it here.",
                        "zh": "在 funnelscope.yml 中定义一个漏斗，即可在此监控。"},
    "chart_churn_reasons": {"en": "What predicts churn", "zh": "流失的主要预测因素"},
    "churn_probability": {"en": "Churn probability", "zh": "流失概率"},
    "chart_churn_risk": {"en": "Predicted churn risk", "zh": "预测流失风险"},
    # ---- attribution charts -----------------------------------------------------------
    "chart_attribution": {"en": "Attributed conversions by channel and model",
                          "zh": "各渠道在各归因模型下的转化"},
    "chart_attribution_revenue": {"en": "Attributed revenue by channel and model",
                                  "zh": "各渠道在各归因模型下的收入"},
    "attributed_conversions": {"en": "Attributed conversions", "zh": "归因转化数"},
    "attributed_revenue": {"en": "Attributed revenue", "zh": "归因收入"},
    "attribution_first_touch": {"en": "First touch", "zh": "首次触点"},
    "attribution_last_touch": {"en": "Last touch", "zh": "末次触点"},
    "attribution_linear": {"en": "Linear", "zh": "线性"},
    "attribution_time_decay": {"en": "Time decay", "zh": "时间衰减"},
    "attribution_position": {"en": "Position (40/20/40)", "zh": "位置（40/20/40）"},
    "attribution_markov": {"en": "Markov (removal effect)", "zh": "马尔可夫（移除效应）"},
    # ---- paths charts -----------------------------------------------------------------
    "chart_paths_after": {"en": "What users did after {event}", "zh": "用户在 {event} 之后做了什么"},
    "chart_paths_before": {"en": "What users did before {event}", "zh": "用户在 {event} 之前做了什么"},
    "chart_paths_to": {"en": "Paths to {event}", "zh": "通往 {event} 的路径"},
    "chart_paths_start": {"en": "How user journeys begin", "zh": "用户旅程如何开始"},
    "chart_transition_matrix": {"en": "Transition probabilities to the next event",
                                "zh": "到下一个事件的转移概率"},
    "from_event": {"en": "Event", "zh": "当前事件"},
    "to_event": {"en": "Next event", "zh": "下一个事件"},
    "transition_share": {"en": "Share of transitions", "zh": "转移占比"},
    "path_end": {"en": "(end)", "zh": "（结束）"},
    "path_start": {"en": "(start)", "zh": "（开始）"},
    "path_other": {"en": "(other)", "zh": "（其他）"},
    # ---- satisfaction charts ----------------------------------------------------------
    "chart_nps_trend": {"en": "Net Promoter Score over time", "zh": "净推荐值（NPS）趋势"},
    "chart_nps_categories": {"en": "Promoters, passives and detractors",
                             "zh": "推荐者、被动者与贬损者占比"},
    "chart_nps_churn": {"en": "Ordered again within {horizon} of answering, by NPS category",
                        "zh": "回答后 {horizon} 内再次下单的比例（按 NPS 类别）"},
    "nps_answers": {"en": "NPS answers", "zh": "NPS 回答数"},
    "nps_points": {"en": "NPS (points, −100 to 100)", "zh": "NPS（分，−100 至 100）"},
    "answer_period": {"en": "Answer period", "zh": "回答周期"},
    "nps_promoters": {"en": "Promoters (9–10)", "zh": "推荐者（9–10）"},
    "nps_passives": {"en": "Passives (7–8)", "zh": "被动者（7–8）"},
    "nps_detractors": {"en": "Detractors (0–6)", "zh": "贬损者（0–6）"},
    "all_answers": {"en": "All answers", "zh": "全部回答"},
    "share_of_answers": {"en": "Share of NPS answers", "zh": "占 NPS 回答的比例"},
    "ordered_again": {"en": "Ordered again", "zh": "再次下单比例"},
    # ---- lead-scoring charts ----------------------------------------------------------
    "chart_lead_calibration": {"en": "Lead score calibration on the holdout",
                               "zh": "线索评分校准（时间留出集）"},
    "chart_lead_scores": {"en": "Current leads by score", "zh": "当前线索的评分分布"},
    "chart_lead_rules": {"en": "Leads matched by each rule and tag",
                         "zh": "各规则与标签命中的线索数"},
    "lead_predicted": {"en": "Predicted probability", "zh": "预测概率"},
    "lead_observed": {"en": "Observed conversion", "zh": "实际转化率"},
    "lead_perfect": {"en": "Perfect calibration", "zh": "完美校准"},
    "lead_holdout": {"en": "Holdout deciles", "zh": "留出集十分位"},
    "lead_score": {"en": "Score (probability)", "zh": "评分（概率）"},
    "lead_count": {"en": "Leads", "zh": "线索数"},
    # ---- traffic charts ---------------------------------------------------------------
    "chart_traffic_quality": {"en": "Traffic and conversion by {by}",
                              "zh": "按 {by} 的流量与转化"},
    "chart_traffic_cost": {"en": "Cost per click vs conversion rate by {by}",
                           "zh": "按 {by} 的点击成本与转化率"},
    "traffic_uv": {"en": "Unique visitors (UV)", "zh": "独立访客（UV）"},
    "traffic_sessions": {"en": "Sessions", "zh": "会话数"},
    "traffic_visits": {"en": "Visitors / sessions", "zh": "访客数 / 会话数"},
    "traffic_conversion_rate": {"en": "Conversion rate (converting users / UV)",
                                "zh": "转化率（转化用户 / UV）"},
    "traffic_cpc": {"en": "Cost per click (CPC)", "zh": "单次点击成本（CPC）"},
    "traffic_all": {"en": "All traffic", "zh": "全部流量"},
    # ---- report -----------------------------------------------------------------------
    "analysis_funnel": {"en": "Funnel", "zh": "漏斗"},
    "analysis_retention": {"en": "Retention", "zh": "留存"},
    "analysis_activity": {"en": "Activity", "zh": "活跃度"},
    "analysis_churn": {"en": "Churn", "zh": "流失"},
    "analysis_aarrr": {"en": "AARRR", "zh": "AARRR 模型"},
    "analysis_pipeline": {"en": "Sales pipeline", "zh": "销售管道"},
    "analysis_b2b_chain": {"en": "B2B chain", "zh": "B2B 全链路"},
    "analysis_rfm": {"en": "RFM segments", "zh": "RFM 分层"},
    "analysis_clusters": {"en": "Behaviour clusters", "zh": "行为聚类"},
    "analysis_clv": {"en": "Customer lifetime value", "zh": "客户终身价值"},
    "analysis_acquisition": {"en": "Acquisition cost", "zh": "获客成本"},
    "analysis_churn_risk": {"en": "Churn risk", "zh": "流失风险"},
    "analysis_benchmark": {"en": "Industry benchmark", "zh": "行业基准"},
    "analysis_experiment": {"en": "Experiment", "zh": "A/B 实验"},
    "analysis_watch": {"en": "Conversion watch", "zh": "转化监控"},
    "analysis_paths": {"en": "User paths", "zh": "用户路径"},
    "analysis_attribution": {"en": "Attribution", "zh": "渠道归因"},
    "analysis_satisfaction": {"en": "Satisfaction", "zh": "满意度"},
    "analysis_traffic": {"en": "Traffic and channel quality", "zh": "流量与渠道质量"},
    "analysis_leads": {"en": "Lead scoring", "zh": "线索评分"},
    "report_title": {"en": "Customer funnel report", "zh": "客户漏斗分析报告"},
    "report_subtitle": {"en": "Workspace {workspace} · data from {start} to {end} · time zone {tz}",
                        "zh": "工作区 {workspace} · 数据范围 {start} 至 {end} · 时区 {tz}"},
    "report_generated": {"en": "Generated {when} by funnelscope {version}.",
                         "zh": "由 funnelscope {version} 于 {when} 生成。"},
    "contents": {"en": "Contents", "zh": "目录"},
    "section_headline": {"en": "Headline numbers", "zh": "核心指标"},
    "section_funnels": {"en": "Funnels", "zh": "转化漏斗"},
    "section_retention": {"en": "Retention and activity", "zh": "留存与活跃"},
    "section_segments": {"en": "Customer segments", "zh": "客户分群"},
    "section_value": {"en": "Customer value", "zh": "客户价值"},
    "section_pipeline": {"en": "Sales pipeline and forecast", "zh": "销售管道与预测"},
    "section_metrics": {"en": "Metrics", "zh": "指标"},
    "section_more": {"en": "More analyses", "zh": "更多分析"},
    "section_data": {"en": "Data", "zh": "数据"},
    "headline_users": {"en": "Users who entered {funnel}", "zh": "进入「{funnel}」的用户"},
    "headline_conversion": {"en": "Conversion of {funnel}", "zh": "「{funnel}」的转化率"},
    "headline_leak": {"en": "Biggest leak", "zh": "最大流失环节"},
    "headline_retention": {"en": "Average retention after 1 {unit}", "zh": "1 {unit}后平均留存"},
    "headline_revenue": {"en": "Revenue of customers with orders", "zh": "有订单客户的收入"},
    "headline_clv": {"en": "Predicted customer value (total)", "zh": "预测客户价值（合计）"},
    "headline_won": {"en": "Won deals", "zh": "赢单数"},
    "headline_forecast": {"en": "Forecast for {period}", "zh": "{period} 预测"},
    "funnel_heading": {"en": "Funnel “{name}”", "zh": "漏斗「{name}」"},
    "funnel_definition": {"en": "Steps {steps}; window {window}; mode {mode}; counting {count}.",
                          "zh": "步骤 {steps}；时间窗口 {window}；模式 {mode}；计数方式 {count}。"},
    "mode_ordered": {"en": "ordered", "zh": "有序"},
    "mode_strict": {"en": "strict order", "zh": "严格有序"},
    "mode_any": {"en": "any order", "zh": "任意顺序"},
    "count_uniques": {"en": "unique entities", "zh": "去重人数"},
    "count_totals": {"en": "every entry", "zh": "每次进入"},
    "funnel_summary": {"en": "{entered} entered and {converted} completed all steps ({conversion}).",
                       "zh": "共 {entered} 人进入，{converted} 人完成全部步骤（{conversion}）。"},
    "leak_sentence": {"en": "The biggest leak is {a} → {b}: only {conversion} go on, {lost} are lost.",
                      "zh": "最大的流失在 {a} → {b}：只有 {conversion} 继续，流失 {lost} 人。"},
    "no_leak": {"en": "The funnel has a single step, so there is no leak to report.",
                "zh": "漏斗只有一个步骤，没有可报告的流失。"},
    "breakdown_heading": {"en": "By {by}", "zh": "按 {by} 拆分"},
    "breakdown_sentence": {"en": "Highest conversion: {best} ({best_rate}); lowest: {worst} ({worst_rate}).",
                           "zh": "转化率最高：{best}（{best_rate}）；最低：{worst}（{worst_rate}）。"},
    "breakdown_significant": {"en": "{n} of {total} groups differ from the rest (chi-square, p < 0.05).",
                              "zh": "{total} 个分组中有 {n} 个与其余分组存在显著差异（卡方检验，p < 0.05）。"},
    "trend_heading": {"en": "Trend", "zh": "趋势"},
    "trend_sentence": {"en": "Conversion ranged from {low} ({low_period}) to {high} ({high_period}) by entry {unit}.",
                       "zh": "按进入{unit}统计，转化率介于 {low}（{low_period}）与 {high}（{high_period}）之间。"},
    "time_heading": {"en": "Time to convert", "zh": "转化时长"},
    "time_sentence": {"en": "Half of those who completed took less than {median}; 90% less than {p90}.",
                      "zh": "完成全部步骤的人中，一半用时少于 {median}，90% 少于 {p90}。"},
    "no_funnels": {"en": "No funnel is defined. Declare one in funnelscope.yml, for example:",
                   "zh": "尚未定义漏斗。请在 funnelscope.yml 中声明，例如："},
    "retention_sentence": {"en": "On average {rate} of a cohort come back in its first {unit} after the start.",
                           "zh": "平均而言，同期群中有 {rate} 的用户在开始后的第一个{unit}内回访。"},
    "lifecycle_heading": {"en": "Lifecycle", "zh": "生命周期"},
    "survival_heading": {"en": "Survival", "zh": "存活"},
    "survival_sentence": {"en": "Median customer lifetime: {days} days.",
                          "zh": "客户生命周期中位数：{days} 天。"},
    "survival_no_median": {"en": "More than half of the customers are still active, so the median lifetime is not reached yet.",
                           "zh": "超过一半的客户仍然活跃，生命周期中位数尚未达到。"},
    "rfm_heading": {"en": "RFM segments", "zh": "RFM 分群"},
    "rfm_sentence": {"en": "{segment} hold {revenue_share} of revenue with {customer_share} of customers.",
                     "zh": "「{segment}」以 {customer_share} 的客户贡献了 {revenue_share} 的收入。"},
    "clusters_heading": {"en": "Behavioural clusters", "zh": "行为聚类"},
    "clusters_sentence": {"en": "{k} clusters (silhouette {silhouette}).", "zh": "共 {k} 个聚类（轮廓系数 {silhouette}）。"},
    "segment": {"en": "Segment", "zh": "分群"},
    "revenue": {"en": "Revenue", "zh": "收入"},
    "suggested_action": {"en": "Suggested action", "zh": "建议行动"},
    "description": {"en": "Description", "zh": "描述"},
    "clv_heading": {"en": "Customer lifetime value", "zh": "客户终身价值"},
    "clv_sentence": {"en": "The top quarter of customers hold {share} of the predicted value.",
                     "zh": "价值最高的四分之一客户占预测价值的 {share}。"},
    "tier": {"en": "Tier", "zh": "层级"},
    "clv_total": {"en": "Predicted value", "zh": "预测价值"},
    "share_of_clv": {"en": "Share of value", "zh": "价值占比"},
    "acquisition_heading": {"en": "Acquisition cost", "zh": "获客成本"},
    "acquisition_sentence": {"en": "Best LTV:CAC: {best} ({best_ratio}); worst: {worst} ({worst_ratio}).",
                             "zh": "LTV:CAC 最高：{best}（{best_ratio}）；最低：{worst}（{worst_ratio}）。"},
    "pipeline_funnel_heading": {"en": "Stage funnel", "zh": "阶段漏斗"},
    "bottleneck_sentence": {"en": "Biggest bottleneck: {a} → {b} loses {lost} deals ({rate}) worth {value}.",
                            "zh": "最大瓶颈：{a} → {b} 流失 {lost} 个商机（{rate}），价值 {value}。"},
    "velocity_heading": {"en": "Velocity", "zh": "速度"},
    "forecast_heading": {"en": "Forecast", "zh": "预测"},
    "forecast_sentence": {"en": "{period}: weighted pipeline forecast {weighted}, learned forecast {learned}.",
                          "zh": "{period}：加权管道预测 {weighted}，学习模型预测 {learned}。"},
    "backtest_sentence": {"en": "Backtest over {n} past {unit}: mean absolute percentage error {weighted_mape} (weighted) vs {learned_mape} (learned).",
                          "zh": "回测过去 {n} 个{unit}：平均绝对百分比误差 加权 {weighted_mape}，学习模型 {learned_mape}。"},
    "metrics_intro": {"en": "Metrics declared in funnelscope.yml.", "zh": "在 funnelscope.yml 中声明的指标。"},
    "metric": {"en": "Metric", "zh": "指标"},
    "value": {"en": "Value", "zh": "数值"},
    "dimension": {"en": "Dimension", "zh": "维度"},
    "aggregation": {"en": "Aggregation", "zh": "聚合方式"},
    "measure": {"en": "Measure", "zh": "度量"},
    "table_name": {"en": "Table", "zh": "数据表"},
    "rows": {"en": "Rows", "zh": "行数"},
    "section_failed": {"en": "This part could not be computed: {error}", "zh": "此部分无法计算：{error}"},
    "show_table": {"en": "Show the numbers", "zh": "查看数据表"},
    # ---- dashboard ----------------------------------------------------------------------
    "nav_funnels": {"en": "Funnels", "zh": "漏斗"},
    "nav_retention": {"en": "Retention", "zh": "留存"},
    "nav_segments": {"en": "Segments", "zh": "分群"},
    "nav_value": {"en": "Value", "zh": "价值"},
    "nav_pipeline": {"en": "Pipeline", "zh": "管道"},
    "builder_title": {"en": "Funnel builder", "zh": "漏斗构建器"},
    "saved_funnels": {"en": "Saved funnels", "zh": "已保存的漏斗"},
    "choose": {"en": "— choose —", "zh": "— 请选择 —"},
    "steps_label": {"en": "Steps (in order)", "zh": "步骤（按顺序）"},
    "add_step": {"en": "Add step", "zh": "添加步骤"},
    "remove_step": {"en": "Remove step", "zh": "删除步骤"},
    "window": {"en": "Window", "zh": "时间窗口"},
    "mode": {"en": "Mode", "zh": "模式"},
    "breakdown": {"en": "Breakdown", "zh": "拆分维度"},
    "trend_by": {"en": "Trend by", "zh": "趋势周期"},
    "unit_label_day": {"en": "day", "zh": "日"},
    "unit_label_week": {"en": "week", "zh": "周"},
    "unit_label_month": {"en": "month", "zh": "月"},
    "unit_label_quarter": {"en": "quarter", "zh": "季度"},
    "run": {"en": "Run", "zh": "运行"},
    "download_csv": {"en": "Download CSV", "zh": "下载 CSV"},
    "loading": {"en": "Computing…", "zh": "计算中…"},
    "error": {"en": "Error", "zh": "错误"},
    "no_data": {"en": "The workspace has no {table} table.", "zh": "工作区中没有 {table} 数据表。"},
    "apply": {"en": "Apply", "zh": "应用"},
    "periods_count": {"en": "Periods", "zh": "周期数"},
    "breakdown_by": {"en": "Break down by", "zh": "拆分依据"},
    "forecast_period": {"en": "Forecast period", "zh": "预测周期"},
    "workspace": {"en": "Workspace", "zh": "工作区"},
    "read_only_note": {"en": "read-only", "zh": "只读"},
}

#: Default RFM segment names, descriptions and actions in Chinese (analyses speak English).
RFM_SEGMENTS_ZH: dict[str, tuple[str, str]] = {
    "Champions": ("冠军客户", "奖励他们；邀请评价与推荐；优先体验新品。"),
    "Loyal Customers": ("忠诚客户", "推荐更高价值的产品；邀请加入会员计划；请他们评价。"),
    "Can't Lose Them": ("不能失去的客户", "通过专人联系、续约或新品赢回他们，别让竞争对手抢走。"),
    "At Risk": ("有流失风险", "发送个性化的唤醒优惠，提醒他们曾经喜欢的商品。"),
    "New Customers": ("新客户", "做好新客引导；跟进服务并提供复购优惠。"),
    "Promising": ("有潜力", "提升品牌认知；提供试用或小额激励促进复购。"),
    "Potential Loyalist": ("潜在忠诚客户", "提供会员或积分计划；推荐相关商品。"),
    "Need Attention": ("需要关注", "在他们流失前，基于历史购买推出限时优惠。"),
    "About To Sleep": ("即将沉睡", "分享有用内容与热门商品；提供续购折扣。"),
    "Hibernating": ("沉睡客户", "推荐其他相关商品并给予专属折扣；否则控制投入。"),
    "Lost": ("已流失", "尝试一次唤醒活动；若无效则停止投入。"),
}


#: The plain words of the default cluster descriptions (analyses.value.clusters.WORDS) in Chinese.
CLUSTER_TERMS_ZH: dict[str, str] = {
    "lapsed": "久未购买", "recent": "近期购买", "frequent": "高频", "infrequent": "低频",
    "high spend": "高消费", "low spend": "低消费", "high spend per order": "高客单价",
    "low spend per order": "低客单价", "long-standing": "老客户", "new": "新客户",
    "very active": "非常活跃", "rarely active": "很少活跃", "deep in the funnel": "漏斗深处",
    "early in the funnel": "漏斗前端", "typical on every feature": "各项特征均接近平均",
}


def cluster_label(label: Any, lang: str) -> str:
    """A default cluster description ("lapsed, low spend (cluster 2)") in ``lang``; terms
    that are not default words stay as they are."""
    import re

    text = str(label)
    if lang != "zh":
        return text
    suffix = ""
    m = re.search(r" \(cluster (\d+)\)$", text)
    if m:
        text, suffix = text[: m.start()], f"（聚类 {m.group(1)}）"
    return "，".join(CLUSTER_TERMS_ZH.get(term, term) for term in text.split(", ")) + suffix


def check_lang(lang: str) -> str:
    """Return ``lang`` if supported, else raise ConfigError."""
    if lang not in LANGS:
        raise ConfigError(f"unknown language {lang!r}.", hint="Use en or zh.")
    return lang


def t(key: str, lang: str = "en", default: str | None = None, **values: Any) -> str:
    """The string ``key`` in ``lang`` with ``{placeholders}`` filled from ``values``.

    Unknown keys return ``default`` when given, else raise KeyError (a bug, caught by tests).
    """
    entry = STRINGS.get(key)
    if entry is None:
        if default is not None:
            return default
        raise KeyError(f"no string {key!r} in funnelscope.report.i18n.STRINGS")
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def segment_name(name: Any, lang: str) -> str:
    """A default RFM segment's name in ``lang`` (other names unchanged)."""
    if lang == "zh" and name in RFM_SEGMENTS_ZH:
        return RFM_SEGMENTS_ZH[name][0]
    return str(name)


def segment_action(name: Any, action: Any, lang: str) -> str:
    """A default RFM segment's suggested action in ``lang`` (custom actions unchanged)."""
    if lang == "zh" and name in RFM_SEGMENTS_ZH:
        return RFM_SEGMENTS_ZH[name][1]
    return "" if action is None else str(action)


class Translator:
    """``_("key", **values)`` bound to one language, for templates."""

    def __init__(self, lang: str) -> None:
        self.lang = check_lang(lang)

    def __call__(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    def strings(self, *keys: str) -> dict[str, str]:
        """Several strings at once (for the dashboard's JavaScript)."""
        return {k: t(k, self.lang) for k in keys}
