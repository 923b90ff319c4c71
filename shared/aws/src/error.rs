//! One place that decides what an AWS SDK failure means for a caller: worth retrying
//! (throttling, 5xx, timeouts, network), a lost conditional write, or a permanent rejection.
//! Both adapters map through here so DynamoDB and SQS agree on what "retryable" is.
//!
//! Error strings carry the operation, the AWS error code and the HTTP status only: never the
//! request, the item, or the service's free-text message (which can echo request content).

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use vitals_core::{QueueError, StoreError};

/// What went wrong, reduced to what classification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The request never produced a response in time.
    Timeout,
    /// The request could not be sent or the connection failed.
    Dispatch,
    /// A response came back but could not be read.
    BadResponse,
    /// The SDK refused to build the request (bad input on our side).
    Construction,
    /// The service answered with an error.
    Service {
        code: Option<String>,
        status: Option<u16>,
    },
}

/// What a failure means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Trying again later can succeed.
    Retryable,
    /// A condition on the write did not hold.
    Conflict,
    /// The request is wrong and will stay wrong.
    Rejected,
}

/// Error codes that mean "slow down": the request itself is fine.
const THROTTLING_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "LimitExceededException",
    "KmsThrottled",
    "AWS.SimpleQueueService.RequestThrottled",
    "ThrottledException",
];

/// Error codes of transient server-side trouble, whatever the HTTP status says.
const TRANSIENT_CODES: &[&str] = &[
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
    "OverLimit",
];

const CONFLICT_CODES: &[&str] = &[
    "ConditionalCheckFailedException",
    "ConditionalCheckFailed",
    "TransactionConflictException",
];

pub(crate) fn classify(failure: &Failure) -> Class {
    match failure {
        Failure::Timeout | Failure::Dispatch | Failure::BadResponse => Class::Retryable,
        Failure::Construction => Class::Rejected,
        Failure::Service { code, status } => {
            let code = code.as_deref().unwrap_or_default();
            // Query-protocol services prefix codes ("AWS.SimpleQueueService.X"); compare both.
            let short = code.rsplit('.').next().unwrap_or(code);
            let is = |list: &[&str]| list.contains(&code) || list.contains(&short);
            if is(CONFLICT_CODES) {
                Class::Conflict
            } else if is(THROTTLING_CODES)
                || is(TRANSIENT_CODES)
                || status.is_some_and(|s| s >= 500 || s == 429)
            {
                Class::Retryable
            } else {
                Class::Rejected
            }
        }
    }
}

/// Per-item reasons of a cancelled DynamoDB transaction that mean "try again".
const RETRYABLE_CANCELLATIONS: &[&str] = &[
    "TransactionConflict",
    "ThrottlingError",
    "ProvisionedThroughputExceeded",
    "RequestLimitExceeded",
];

/// Classifies a cancelled transaction by its per-item reason codes (`"None"` for items that
/// did not cause it): a failed condition wins, then transient reasons, else rejected.
pub(crate) fn classify_cancellation<'a>(reasons: impl IntoIterator<Item = &'a str>) -> Class {
    let mut class = Class::Rejected;
    let mut any = false;
    for code in reasons {
        any = true;
        if code == "ConditionalCheckFailed" {
            return Class::Conflict;
        }
        if RETRYABLE_CANCELLATIONS.contains(&code) {
            class = Class::Retryable;
        }
    }
    if any {
        class
    } else {
        Class::Retryable
    }
}

pub(crate) fn failure_of<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Failure {
    match err {
        SdkError::TimeoutError(_) => Failure::Timeout,
        SdkError::DispatchFailure(_) => Failure::Dispatch,
        SdkError::ResponseError(_) => Failure::BadResponse,
        SdkError::ConstructionFailure(_) => Failure::Construction,
        SdkError::ServiceError(e) => Failure::Service {
            code: e.err().code().map(str::to_owned),
            status: Some(e.raw().status().as_u16()),
        },
        _ => Failure::Dispatch,
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Timeout => f.write_str("timed out"),
            Failure::Dispatch => f.write_str("request could not be sent"),
            Failure::BadResponse => f.write_str("unreadable response"),
            Failure::Construction => f.write_str("invalid request"),
            Failure::Service { code, status } => {
                f.write_str(code.as_deref().unwrap_or("service error"))?;
                match status {
                    Some(s) => write!(f, " (HTTP {s})"),
                    None => Ok(()),
                }
            }
        }
    }
}

fn log<E: ProvideErrorMetadata>(op: &'static str, err: &SdkError<E, HttpResponse>, class: Class) {
    // The service's message helps debugging but may echo request content: debug level only.
    let message = match err {
        SdkError::ServiceError(e) => e.err().message(),
        _ => None,
    };
    tracing::debug!(op, ?class, message, "aws request failed");
}

/// Maps a DynamoDB SDK failure to the storage port's error.
pub(crate) fn store_error<E: ProvideErrorMetadata>(
    op: &'static str,
    err: SdkError<E, HttpResponse>,
) -> StoreError {
    let failure = failure_of(&err);
    let class = classify(&failure);
    log(op, &err, class);
    store_error_from(op, &failure, class)
}

pub(crate) fn store_error_from(op: &str, failure: &Failure, class: Class) -> StoreError {
    let text = format!("{op}: {failure}");
    match class {
        Class::Retryable => StoreError::Unavailable(text),
        Class::Conflict => StoreError::Conflict(text),
        Class::Rejected => StoreError::Rejected(text),
    }
}

/// Maps an SQS SDK failure to the queue port's error.
pub(crate) fn queue_error<E: ProvideErrorMetadata>(
    op: &'static str,
    err: SdkError<E, HttpResponse>,
) -> QueueError {
    let failure = failure_of(&err);
    let class = classify(&failure);
    log(op, &err, class);
    queue_error_from(op, &failure, class)
}

pub(crate) fn queue_error_from(op: &str, failure: &Failure, class: Class) -> QueueError {
    let text = format!("{op}: {failure}");
    match class {
        Class::Retryable => QueueError::Unavailable(text),
        Class::Conflict | Class::Rejected => QueueError::Rejected(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::operation::put_item::PutItemError;

    fn service(code: &str, status: u16) -> Failure {
        Failure::Service {
            code: Some(code.to_owned()),
            status: Some(status),
        }
    }

    #[test]
    fn throttling_is_retryable_whatever_the_status() {
        for code in [
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
            "AWS.SimpleQueueService.RequestThrottled",
        ] {
            assert_eq!(classify(&service(code, 400)), Class::Retryable, "{code}");
        }
    }

    #[test]
    fn server_errors_and_network_failures_are_retryable() {
        assert_eq!(
            classify(&service("InternalServerError", 500)),
            Class::Retryable
        );
        assert_eq!(classify(&service("Whatever", 503)), Class::Retryable);
        assert_eq!(classify(&service("Whatever", 429)), Class::Retryable);
        assert_eq!(classify(&Failure::Timeout), Class::Retryable);
        assert_eq!(classify(&Failure::Dispatch), Class::Retryable);
        assert_eq!(classify(&Failure::BadResponse), Class::Retryable);
    }

    #[test]
    fn a_failed_condition_is_a_conflict() {
        assert_eq!(
            classify(&service("ConditionalCheckFailedException", 400)),
            Class::Conflict
        );
    }

    #[test]
    fn validation_and_missing_resources_are_rejected() {
        assert_eq!(
            classify(&service("ValidationException", 400)),
            Class::Rejected
        );
        assert_eq!(
            classify(&service("ResourceNotFoundException", 400)),
            Class::Rejected
        );
        assert_eq!(classify(&Failure::Construction), Class::Rejected);
        let unknown = Failure::Service {
            code: None,
            status: Some(403),
        };
        assert_eq!(classify(&unknown), Class::Rejected);
    }

    #[test]
    fn sdk_timeouts_map_to_unavailable() {
        let err: SdkError<PutItemError, HttpResponse> = SdkError::timeout_error("slow");
        let mapped = store_error("PutItem", err);
        assert!(mapped.is_retryable(), "{mapped:?}");
        assert_eq!(mapped, StoreError::Unavailable("PutItem: timed out".into()));
    }

    #[test]
    fn sdk_construction_failures_map_to_rejected() {
        let err: SdkError<PutItemError, HttpResponse> =
            SdkError::construction_failure("missing table name");
        assert!(matches!(
            store_error("PutItem", err),
            StoreError::Rejected(_)
        ));
    }

    #[test]
    fn error_text_names_code_and_status_only() {
        let failure = service("ValidationException", 400);
        let err = store_error_from("Query", &failure, classify(&failure));
        assert_eq!(
            err,
            StoreError::Rejected("Query: ValidationException (HTTP 400)".into())
        );
    }

    #[test]
    fn a_cancelled_transaction_is_classified_by_its_reasons() {
        assert_eq!(
            classify_cancellation(["ConditionalCheckFailed", "None"]),
            Class::Conflict
        );
        assert_eq!(
            classify_cancellation(["None", "TransactionConflict"]),
            Class::Retryable
        );
        assert_eq!(
            classify_cancellation(["ValidationError", "None"]),
            Class::Rejected
        );
    }

    #[test]
    fn queue_conflicts_are_rejections() {
        let failure = service("ConditionalCheckFailedException", 400);
        assert!(matches!(
            queue_error_from("SendMessage", &failure, classify(&failure)),
            QueueError::Rejected(_)
        ));
        let throttled = service("RequestThrottled", 400);
        assert!(queue_error_from("SendMessage", &throttled, classify(&throttled)).is_retryable());
    }
}
