//! `GET /openapi.json`: the OpenAPI 3.1 document of the query API, written by hand next to the
//! handlers it describes. `tests/tests/query_roles.rs` checks every documented path answers,
//! and `scripts/steps/query-schemathesis.sh` checks responses against it on a running server.

use axum::Json;
use serde_json::{json, Value};
use vitals_core::query::accounts::AccountSort;

/// `{"type": [t, "null"]}`.
fn nullable(t: &str) -> Value {
    json!({"type": [t, "null"]})
}

fn date_or_null() -> Value {
    json!({"type": ["string", "null"], "format": "date"})
}

fn time_or_null() -> Value {
    json!({"type": ["string", "null"], "format": "date-time"})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn error(description: &str) -> Value {
    json_response(description, reference("Error"))
}

/// The error responses every authenticated operation may give, plus its success.
fn responses(ok: Value, extra: &[(&str, &str)]) -> Value {
    let mut r = json!({
        "200": ok,
        "400": error("A parameter or the body is invalid; the message names it."),
        "401": error("No valid bearer token."),
        "403": error("The caller's role may not do this."),
        "503": error("Storage is briefly unavailable; retry."),
    });
    for (code, description) in extra {
        r[*code] = error(description);
    }
    r
}

fn query_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": false, "description": description, "schema": schema})
}

fn id_param(description: &str) -> Value {
    json!({"name": "id", "in": "path", "required": true, "description": description, "schema": {"type": "string", "minLength": 1}})
}

fn limit_param(max: u32) -> Value {
    query_param(
        "limit",
        "Page size.",
        json!({"type": "integer", "minimum": 1, "maximum": max}),
    )
}

fn cursor_param() -> Value {
    query_param(
        "cursor",
        "`next_cursor` of the previous page.",
        json!({"type": "string"}),
    )
}

fn kpi() -> Value {
    json!({
        "type": "object",
        "required": ["value", "unit", "source", "n", "reason"],
        "properties": {
            "value": nullable("number"),
            "unit": {"type": "string"},
            "source": {"type": ["string", "null"], "enum": ["summary", "accounts", null]},
            "n": nullable("integer"),
            "reason": nullable("string"),
        }
    })
}

fn schemas() -> Value {
    let band = json!({"type": "string", "enum": ["at_risk", "monitor", "healthy"]});
    // A provisional score (the current UTC day so far) on list rows and the account view.
    let provisional_row = json!({
        "type": "object",
        "description": "Present when events arrived since the last daily run: a provisional score of the current UTC day so far (not ended, no alert follows from it), replaced by that day's daily score. Filters and sorts use the row's daily values.",
        "required": ["day", "computed_at", "score", "band", "change"],
        "properties": {
            "day": {"type": "string", "format": "date", "description": "The UTC day it covers so far."},
            "computed_at": {"type": "string", "format": "date-time"},
            "score": {"type": "number"},
            "band": band,
            "change": {"type": ["number", "null"], "description": "Change since the last daily score."}
        }
    });
    let provisional_detail = json!({
        "type": "object",
        "description": "A provisional score of the current UTC day so far, when events arrived since the last daily run: not a complete day, no alert follows from it, and that day's daily score replaces it. Null otherwise.",
        "required": ["day", "computed_at", "score", "band", "confidence", "signals", "changes"],
        "properties": {
            "day": {"type": "string", "format": "date"},
            "computed_at": {"type": "string", "format": "date-time"},
            "score": {"type": "number"},
            "band": band,
            "confidence": {"type": "number"},
            "signals": {"type": "array", "items": reference("Signal")},
            "changes": {"type": ["object", "null"], "description": "What changed since the last daily score."}
        }
    });
    let counts =
        json!({"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}});
    let kpi_names = [
        "seat_adoption",
        "feature_adoption",
        "time_to_value_days",
        "renewal_risk_high",
        "renewal_risk_medium",
        "net_revenue_retention",
        "gross_revenue_retention",
        "time_to_intervention_days",
        "intervention_effectiveness",
        "churn_prediction_accuracy",
        "churned_accounts",
        "churned_mrr",
        "logo_churn",
        "revenue_churn",
    ];
    let kpis: serde_json::Map<String, Value> =
        kpi_names.iter().map(|n| (n.to_string(), kpi())).collect();
    let mut schemas = json!({
        "Error": {
            "type": "object",
            "required": ["success", "error"],
            "properties": {
                "success": {"const": false},
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "issues": {"type": "array", "items": {
                            "type": "object", "required": ["key", "problem"],
                            "properties": {"key": {"type": "string"}, "problem": {"type": "string"}}
                        }}
                    }
                }
            }
        },
        "Portfolio": {
            "type": "object",
            "required": ["as_of", "computed_at", "book", "accounts", "mean_score", "bands", "distribution", "declining", "revenue", "expansion", "kpis", "trend"],
            "description": "Computed over the caller's book: a CSM's or AE's own accounts (`accounts` equals the total of their account list), every account for admin and read-only.",
            "properties": {
                "book": {"type": "string", "enum": ["all", "owned"], "description": "Whose accounts the figures cover."},
                "as_of": date_or_null(),
                "computed_at": time_or_null(),
                "accounts": {"type": "integer", "minimum": 0},
                "mean_score": {"type": "number"},
                "bands": counts,
                "distribution": {"type": "array", "items": {
                    "type": "object", "required": ["from", "to", "accounts"],
                    "properties": {"from": {"type": "integer"}, "to": {"type": "integer"}, "accounts": {"type": "integer", "minimum": 0}}
                }},
                "declining": counts,
                "revenue": {
                    "type": "object", "required": ["mrr_at_risk", "mrr_total", "at_risk_share"],
                    "properties": {"mrr_at_risk": {"type": "number"}, "mrr_total": nullable("number"), "at_risk_share": nullable("number")}
                },
                "expansion": {"type": "object", "required": ["candidates"], "properties": {"candidates": {"type": "integer", "minimum": 0}}},
                "kpis": {"type": "object", "required": kpi_names, "properties": kpis},
                "trend": {"type": "array", "items": {
                    "type": "object",
                    "required": ["as_of", "accounts", "at_risk", "mean_score", "bands", "mrr_at_risk", "expansion_candidates"],
                    "properties": {
                        "as_of": date_or_null(),
                        "accounts": {"type": "integer"},
                        "at_risk": {"type": "integer", "description": "Accounts at risk that day."},
                        "mean_score": {"type": "number"},
                        "bands": counts,
                        "mrr_at_risk": {"type": "number"},
                        "expansion_candidates": {"type": "integer"}
                    }
                }}
            }
        },
        "AccountRow": {
            "type": "object",
            "required": ["account_id", "name", "owner", "score", "band", "reason", "expansion"],
            "properties": {
                "account_id": {"type": "string"},
                "name": nullable("string"),
                "owner": nullable("string"),
                "tier": nullable("string"),
                "region": nullable("string"),
                "product_line": nullable("string"),
                "mrr": nullable("number"),
                "score": nullable("number"),
                "band": {"oneOf": [band, {"type": "null"}]},
                "confidence": nullable("number"),
                "change": nullable("number"),
                "change_7d": {"type": ["number", "null"], "description": "Score change over 7 days; absent without a score that old."},
                "change_30d": {"type": ["number", "null"], "description": "Score change over 30 days; absent without a score that old."},
                "decline": {"type": ["string", "null"], "enum": ["moderate", "severe", null]},
                "renewal_date": date_or_null(),
                "days_to_renewal": nullable("integer"),
                "renewal_risk": {"type": ["string", "null"], "enum": ["low", "medium", "high", null]},
                "churn_risk": {"type": "number", "minimum": 0, "maximum": 1, "description": "Probability of churning within the churn model's horizon, as of the listing's run; absent before a model is fitted."},
                "expansion": {"type": "boolean"},
                "reason": {"type": "string"},
                "as_of": date_or_null(),
                "lifecycle": {"type": "string", "enum": ["active", "churned", "not_started"], "description": "Absent means active. A row that is not active has no band, decline, renewal or expansion; its score is the last one."},
                "churned_on": date_or_null()
            }
        },
        "AccountList": {
            "type": "object",
            "required": ["items", "next_cursor", "total"],
            "properties": {
                "items": {"type": "array", "items": reference("AccountRow")},
                "next_cursor": nullable("string"),
                "total": {"type": "integer", "minimum": 0}
            }
        },
        "Signal": {
            "type": "object",
            "required": ["name", "label", "value", "weight", "points"],
            "properties": {
                "name": {"type": "string"},
                "label": {"type": "string", "description": "The name in words, e.g. \"Seat adoption\"."},
                "value": nullable("number"),
                "raw": nullable("number"),
                "weight": {"type": "number"},
                "points": {"type": "number"}
            }
        },
        "AccountDetail": {
            "type": "object",
            "required": ["account_id", "name", "score", "band", "confidence", "signals", "changes", "usage", "contract", "churn_risk", "churn_risk_unavailable", "timeline"],
            "properties": {
                "account_id": {"type": "string"},
                "name": nullable("string"),
                "owner": nullable("string"),
                "lifecycle": {"type": "object", "required": ["state"], "properties": {
                    "state": {"type": "string", "enum": ["not_started", "active", "churned"]},
                    "on": {"type": "string", "format": "date", "description": "Churn day (churned)."},
                    "last_mrr": nullable("number")
                }},
                "as_of": date_or_null(),
                "score": nullable("number"),
                "band": {"oneOf": [band, {"type": "null"}]},
                "confidence": nullable("number"),
                "scorecard": nullable("string"),
                "signals": {"type": "array", "items": reference("Signal")},
                "changes": {"oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["sentence", "from", "to", "delta", "movers"],
                    "properties": {
                        "sentence": {"type": "string"},
                        "from": {"type": "number"}, "to": {"type": "number"}, "delta": {"type": "number"},
                        "movers": {"type": "array", "items": {"type": "object"}}
                    }
                }]},
                "decline": {"type": ["object", "null"]},
                "expansion": {"type": ["object", "null"]},
                "usage": {
                    "type": "object",
                    "required": ["active_users", "dormant_users", "features", "sessions_trend"],
                    "properties": {
                        "active_users": {"type": "array", "items": {"type": "object", "required": ["user_id", "last_active"]}},
                        "dormant_users": {"type": "array", "items": {"type": "object", "required": ["user_id", "last_active"]}},
                        "seats": nullable("integer"),
                        "seat_adoption": nullable("number"),
                        "feature_adoption": nullable("number"),
                        "features": {"type": "array", "items": {"type": "object", "required": ["feature", "last_used", "active"]}},
                        "sessions_trend": {"type": "array", "items": {"type": "object", "required": ["day", "sessions", "active_users"]}}
                    }
                },
                "contract": {
                    "type": "object",
                    "required": ["renewal_date", "days_to_renewal", "mrr"],
                    "properties": {
                        "renewal_date": date_or_null(),
                        "days_to_renewal": nullable("integer"),
                        "mrr": nullable("number"),
                        "arr": nullable("number"),
                        "seats": nullable("integer"),
                        "renewal_risk": {"type": ["object", "null"]}
                    }
                },
                "churn_risk": {"oneOf": [{"type": "null"}, reference("ChurnRisk")]},
                "churn_risk_unavailable": {
                    "type": ["string", "null"],
                    "description": "Why churn_risk is null (no model yet, too few churns, account churned or not scored); null when there is a prediction."
                },
                "timeline": {"type": "array", "items": {
                    "type": "object", "required": ["at", "kind", "action", "actor"],
                    "properties": {
                        "at": {"type": "string", "format": "date-time"},
                        "kind": {"type": "string", "enum": ["alert", "outreach", "workflow", "other"]},
                        "action": {"type": "string"},
                        "actor": {"type": "string"},
                        "summary": nullable("string")
                    }
                }}
            }
        },
        "ChurnRisk": {
            "type": "object",
            "description": "The latest churn model applied to the account's current signals.",
            "required": ["probability", "horizon_days", "model_as_of", "as_of", "calibrated", "contributors"],
            "properties": {
                "probability": {"type": "number", "minimum": 0, "maximum": 1, "description": "Probability of churning within horizon_days."},
                "horizon_days": {"type": "integer", "minimum": 1},
                "model_as_of": {"type": "string", "format": "date", "description": "The day the model was fitted (its version)."},
                "as_of": {"type": "string", "format": "date", "description": "The day of the score whose signals were used."},
                "calibrated": {"type": "boolean", "description": "Whether Platt scaling corrected the model's output."},
                "contributors": {"type": "array", "items": {
                    "type": "object", "required": ["name", "label", "effect"],
                    "properties": {
                        "name": {"type": "string", "description": "A signal, or {signal}_missing when it had no data."},
                        "label": {"type": "string", "description": "The name in words, e.g. \"Active seats\"."},
                        "effect": {"type": "number", "description": "Change in the log-odds of churn against an average account; positive raises the risk."}
                    }
                }}
            }
        },
        "History": {
            "type": "object",
            "required": ["account_id", "points"],
            "properties": {
                "account_id": {"type": "string"},
                "points": {"type": "array", "items": {
                    "type": "object", "required": ["as_of", "score", "band", "confidence", "change"],
                    "properties": {
                        "as_of": {"type": "string", "format": "date"},
                        "score": {"type": "number"},
                        "band": band,
                        "confidence": {"type": "number"},
                        "change": nullable("string")
                    }
                }}
            }
        },
        "Alert": {
            "type": "object",
            "required": ["id", "account_id", "kind", "cause", "severity", "status", "owner", "opened_at", "updated_at", "transitions", "version"],
            "properties": {
                "id": {"type": "string"},
                "account_id": {"type": "string"},
                "dedupe_key": {"type": "string"},
                "kind": {"type": "string"},
                "cause": {"type": "string"},
                "severity": {"type": "string", "enum": ["warning", "critical"]},
                "status": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                "owner": nullable("string"),
                "about_day": {"type": "string", "format": "date", "description": "The scoring day the alert is about."},
                "opened_at": {"type": "string", "format": "date-time", "description": "When Vitals processed it."},
                "updated_at": {"type": "string", "format": "date-time"},
                "snoozed_until": time_or_null(),
                "snooze_reason": nullable("string"),
                "transitions": {"type": "array", "items": {
                    "type": "object", "required": ["at", "by", "to"],
                    "properties": {
                        "at": {"type": "string", "format": "date-time"},
                        "by": {"type": "string"},
                        "to": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
                        "note": nullable("string")
                    }
                }},
                "details": {},
                "version": {"type": "integer", "minimum": 1}
            }
        },
        "AlertList": {
            "type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": reference("Alert")}, "next_cursor": nullable("string")}
        },
        "AlertAction": {
            "oneOf": [
                {"type": "object", "required": ["action", "version"], "additionalProperties": false, "properties": {
                    "action": {"const": "acknowledge"}, "version": {"type": "integer", "minimum": 0}, "note": {"type": ["string", "null"], "maxLength": 2048}}},
                {"type": "object", "required": ["action", "version"], "additionalProperties": false, "properties": {
                    "action": {"const": "resolve"}, "version": {"type": "integer", "minimum": 0}, "note": {"type": ["string", "null"], "maxLength": 2048}}},
                {"type": "object", "required": ["action", "version", "reason", "until"], "additionalProperties": false, "properties": {
                    "action": {"const": "snooze"}, "version": {"type": "integer", "minimum": 0},
                    "reason": {"type": "string", "minLength": 1, "maxLength": 2048},
                    "until": {"type": "string", "format": "date-time", "description": "In the future, at most [alerts] max_snooze_days (90) away."}}},
                {"type": "object", "required": ["action", "version", "owner"], "additionalProperties": false, "description": "Admins only.", "properties": {
                    "action": {"const": "reassign"}, "version": {"type": "integer", "minimum": 0},
                    "owner": {"type": "string", "minLength": 1, "maxLength": 2048}, "note": {"type": ["string", "null"], "maxLength": 2048}}}
            ]
        },
        "AuditEntry": {
            "type": "object", "required": ["id", "at", "account_id", "actor", "action"],
            "properties": {
                "id": {"type": "string"},
                "at": {"type": "string", "format": "date-time"},
                "account_id": nullable("string"),
                "actor": {"type": "string"},
                "action": {"type": "string"},
                "detail": {}
            }
        },
        "AuditList": {
            "type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": reference("AuditEntry")}, "next_cursor": nullable("string")}
        },
        "Config": {
            "type": "object", "required": ["version", "author", "created_at", "summary", "body"],
            "properties": {
                "version": {"type": "integer", "minimum": 0},
                "author": nullable("string"),
                "created_at": time_or_null(),
                "summary": {"type": "string"},
                "body": {"type": "string", "description": "The configuration as TOML."}
            }
        },
        "ConfigUpdate": {
            "type": "object", "required": ["body"], "additionalProperties": false,
            "properties": {
                "body": {"type": "string", "description": "The whole configuration as TOML."},
                "base_version": {"type": ["integer", "null"], "minimum": 0}
            }
        }
    });
    // Set apart: the document above is at `json!`'s recursion limit.
    schemas["ProvisionalRow"] = provisional_row;
    schemas["AccountRow"]["properties"]["provisional"] = reference("ProvisionalRow");
    schemas["AccountDetail"]["properties"]["provisional"] =
        json!({"oneOf": [{"type": "null"}, provisional_detail]});
    schemas
}

/// The OpenAPI document.
pub fn document() -> Value {
    let days = |max: u32, what: &str| {
        query_param(
            "days",
            what,
            json!({"type": "integer", "minimum": 1, "maximum": max}),
        )
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Vitals query API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Customer health: portfolio, accounts, alerts, audit log and configuration. \
                Authenticate with `Authorization: Bearer <token>` (`vitals token` mints one for `vitals serve`; \
                in AWS, a JWT from the configured issuer). Roles: `csm` and `ae` see their own accounts \
                (another owner's account answers 404), `admin` everything and the configuration, \
                `read-only` the portfolio only."
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/portfolio": {"get": {
                "operationId": "getPortfolio",
                "summary": "Portfolio summary: distribution, trend, bands, revenue at risk, expansion, KPIs.",
                "parameters": [days(730, "Trend length in days (default 90).")],
                "responses": responses(json_response("The portfolio.", reference("Portfolio")), &[])
            }},
            "/v1/accounts": {"get": {
                "operationId": "listAccounts",
                "summary": "Accounts the caller may see, filtered, sorted and paged.",
                "parameters": [
                    query_param("band", "Band.", json!({"type": "string", "enum": ["at_risk", "monitor", "healthy"]})),
                    query_param("owner", "Owner email.", json!({"type": "string"})),
                    query_param("tier", "Tier (or plan).", json!({"type": "string"})),
                    query_param("region", "Region.", json!({"type": "string"})),
                    query_param("product_line", "Product line.", json!({"type": "string"})),
                    query_param("q", "Words that must all appear in the account's name or id (case-insensitive).", json!({"type": "string"})),
                    query_param("renewal_within_days", "Renewal within this many days.", json!({"type": "integer", "minimum": 0, "maximum": 3650})),
                    query_param("decline", "Decline severity.", json!({"type": "string", "enum": ["any", "moderate", "severe", "none"]})),
                    query_param("expansion", "Expansion candidates only (true) or none (false).", json!({"type": "string", "enum": ["true", "false"]})),
                    query_param("lifecycle", "Lifecycle state to list (default active).", json!({"type": "string", "enum": ["active", "churned", "not_started", "all"]})),
                    query_param("sort", "Sort order (default `score`: worst first).", json!({"type": "string", "enum": AccountSort::NAMES})),
                    limit_param(500),
                    cursor_param()
                ],
                "responses": responses(json_response("A page of accounts.", reference("AccountList")), &[])
            }},
            "/v1/accounts/{id}": {"get": {
                "operationId": "getAccount",
                "summary": "One account: score, signals, what changed, usage, contract, timeline.",
                "parameters": [id_param("Account id.")],
                "responses": responses(json_response("The account.", reference("AccountDetail")), &[("404", "No such account, or not the caller's.")])
            }},
            "/v1/accounts/{id}/history": {"get": {
                "operationId": "getAccountHistory",
                "summary": "Daily score history of one account, oldest first.",
                "parameters": [id_param("Account id."), days(730, "Days of history (default 90).")],
                "responses": responses(json_response("The history.", reference("History")), &[("404", "No such account, or not the caller's.")])
            }},
            "/v1/alerts": {"get": {
                "operationId": "listAlerts",
                "summary": "Alerts the caller may see, newest first.",
                "parameters": [
                    query_param("status", "Status.", json!({"type": "string", "enum": ["open", "acknowledged", "resolved"]})),
                    query_param("severity", "Severity.", json!({"type": "string", "enum": ["warning", "critical"]})),
                    query_param("owner", "Owner email.", json!({"type": "string"})),
                    query_param("account_id", "Account id.", json!({"type": "string", "minLength": 1, "maxLength": 256, "pattern": "^[^\\x00-\\x1f\\x7f]*\\S[^\\x00-\\x1f\\x7f]*$"})),
                    limit_param(200),
                    cursor_param()
                ],
                "responses": responses(json_response("A page of alerts.", reference("AlertList")), &[])
            }},
            "/v1/alerts/{id}": {
                "get": {
                    "operationId": "getAlert",
                    "summary": "One alert with its transitions.",
                    "parameters": [id_param("Alert id.")],
                    "responses": responses(json_response("The alert.", reference("Alert")), &[("404", "No such alert, or not the caller's.")])
                },
                "patch": {
                    "operationId": "updateAlert",
                    "summary": "Acknowledge, resolve, snooze (CSM of the account, or admin) or reassign (admin) an alert.",
                    "parameters": [id_param("Alert id.")],
                    "requestBody": {"required": true, "content": {"application/json": {"schema": reference("AlertAction")}}},
                    "responses": responses(json_response("The updated alert.", reference("Alert")), &[
                        ("400", "A field is out of bounds (named in the message)."),
                        ("404", "No such alert, or not the caller's."),
                        ("409", "The alert changed since `version` (reload and retry), or is already resolved.")
                    ])
                }
            },
            "/v1/audit": {"get": {
                "operationId": "listAudit",
                "summary": "Workflow audit log, newest first (non-admins: one of their accounts).",
                "parameters": [
                    query_param("account_id", "Account id (required unless admin).", json!({"type": "string"})),
                    limit_param(200),
                    cursor_param()
                ],
                "responses": responses(json_response("A page of audit entries.", reference("AuditList")), &[("404", "No such account, or not the caller's.")])
            }},
            "/v1/config": {
                "get": {
                    "operationId": "getConfig",
                    "summary": "The configuration in force (admin).",
                    "responses": responses(json_response("The latest version (0: defaults).", reference("Config")), &[])
                },
                "put": {
                    "operationId": "putConfig",
                    "summary": "Apply a new configuration version (admin); refused with every problem listed by key if invalid.",
                    "requestBody": {"required": true, "content": {
                        "application/json": {"schema": reference("ConfigUpdate")},
                        "application/toml": {"schema": {"type": "string"}}
                    }},
                    "responses": responses(json_response("The stored version.", reference("Config")), &[("409", "Another version was applied since `base_version`, or nothing changed.")])
                }
            },
            "/openapi.json": {"get": {
                "operationId": "getOpenApi",
                "summary": "This document.",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1 document.", "content": {"application/json": {"schema": {"type": "object"}}}}}
            }},
            "/health": {"get": {
                "operationId": "getHealth",
                "summary": "Liveness.",
                "security": [],
                "responses": {"200": {"description": "Serving.", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}
                }}}}}
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": schemas()
        }
    })
}

pub async fn get_openapi() -> Json<Value> {
    Json(document())
}
