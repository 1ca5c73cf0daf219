//! BatchDescribeModelPackage: summaries of up to 100 versioned packages in one call.
//!
//! Sources: the API reference page of BatchDescribeModelPackage and BatchDescribeModelPackageSummary, and
//! botocore's service model (sagemaker 2017-07-24): `ModelPackageArnList` is required, 1–100 items, each
//! 1–2048 characters matching `arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/[\S]{1,2048}`;
//! the answer maps each ARN to a summary (`ModelPackageSummaries`) or to `{ErrorCode, ErrorResponse}`
//! (`BatchDescribeModelPackageErrorMap`). A summary has only ModelPackageGroupName, ModelPackageVersion,
//! ModelPackageArn, ModelPackageDescription, CreationTime, InferenceSpecification, ModelPackageStatus,
//! ModelApprovalStatus and ModelPackageRegistrationType: no LastModifiedTime, ModelLifeCycle,
//! CustomerMetadataProperties, ModelCard, CreatedBy or metrics (those need DescribeModelPackage).
//!
//! No AWS page says which ErrorCode/ErrorResponse a missing or refused ARN gets, or how IAM treats a
//! batch that mixes allowed and refused resources. The emulator's choices: a malformed list is refused
//! whole (`ValidationException`, as any member constraint); each well-formed ARN is then looked up as
//! DescribeModelPackage looks it up, and a failure goes to the error map with the error DescribeModelPackage
//! would have answered (`ValidationException` "Model package … does not exist." for a missing version or
//! another region's; `AccessDeniedException` for another account's version whose group policy or RAM share
//! does not allow `sagemaker:BatchDescribeModelPackage`, its own IAM action). Keys are the ARNs as sent;
//! an ARN listed twice is answered once. Both maps are always present (possibly empty).

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{CallContext, Operation, Outcome, Package, Registries, package_missing, parse_input};
use crate::error::ApiError;
use crate::validate::{self, abbreviate};
use crate::wire::epoch_seconds;

/// `ModelPackageArnList`: 1–100 items.
pub const MAX_ARNS: usize = 100;
/// `ModelPackageArn`: 1–2048 characters.
const MAX_ARN: usize = 2048;
const ARN_PATTERN: &str =
    "arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]{9,16}:[0-9]{12}:model-package/[\\S]{1,2048}";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchDescribeInput {
    model_package_arn_list: Option<Vec<String>>,
}

/// Java's `\s` (what the service's patterns use): the six ASCII white-space characters only.
fn is_java_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

/// The whole of `value` matches `ModelPackageArn`'s pattern.
pub fn is_model_package_arn(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("arn:aws") else {
        return false;
    };
    let partition_end = rest
        .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
        .unwrap_or(rest.len());
    let Some(rest) = rest[partition_end..].strip_prefix(":sagemaker:") else {
        return false;
    };
    let Some((region, rest)) = rest.split_once(':') else {
        return false;
    };
    let Some((account, rest)) = rest.split_once(':') else {
        return false;
    };
    let Some(path) = rest.strip_prefix("model-package/") else {
        return false;
    };
    (9..=16).contains(&region.len())
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=MAX_ARN).contains(&path.chars().count())
        && !path.chars().any(is_java_space)
}

/// The list's constraints, in AWS's wording for a list member (`Member must satisfy constraint: […]`).
fn validate_list(arns: &[String]) -> Result<(), ApiError> {
    let field = "modelPackageArnList";
    let shown = || abbreviate(&format!("[{}]", arns.join(", ")));
    if arns.is_empty() {
        return Err(validate::constraint(
            &shown(),
            field,
            "Member must have length greater than or equal to 1",
        ));
    }
    if arns.len() > MAX_ARNS {
        return Err(validate::constraint(
            &shown(),
            field,
            &format!("Member must have length less than or equal to {MAX_ARNS}"),
        ));
    }
    if let Some(bad) = arns.iter().find(|arn| {
        let length = arn.chars().count();
        length == 0 || length > MAX_ARN || !is_model_package_arn(arn)
    }) {
        let length = bad.chars().count();
        let rule = if length == 0 {
            "Member must have length greater than or equal to 1".to_owned()
        } else if length > MAX_ARN {
            format!("Member must have length less than or equal to {MAX_ARN}")
        } else {
            format!("Member must satisfy regular expression pattern: {ARN_PATTERN}")
        };
        return Err(validate::constraint(
            &shown(),
            field,
            &format!("Member must satisfy constraint: [{rule}]"),
        ));
    }
    Ok(())
}

impl Package {
    /// `BatchDescribeModelPackageSummary`: the members the API reference lists, nothing more.
    fn batch_summary(&self) -> Value {
        let mut out = Map::new();
        out.insert("ModelPackageGroupName".into(), json!(self.group_name));
        out.insert("ModelPackageVersion".into(), json!(self.version));
        out.insert("ModelPackageArn".into(), json!(self.arn));
        if let Some(description) = &self.description {
            out.insert("ModelPackageDescription".into(), json!(description));
        }
        out.insert("CreationTime".into(), epoch_seconds(self.creation_time));
        // Required in the model, but a version registered without one has none to answer with.
        if let Some(spec) = &self.inference_specification {
            out.insert("InferenceSpecification".into(), spec.clone());
        }
        out.insert("ModelPackageStatus".into(), json!("Completed"));
        out.insert("ModelApprovalStatus".into(), json!(self.approval_status));
        if let Some(kind) = self.passthrough.get("ModelPackageRegistrationType") {
            out.insert("ModelPackageRegistrationType".into(), kind.clone());
        }
        Value::Object(out)
    }
}

impl Registries {
    pub(super) fn batch_describe_packages(
        &mut self,
        ctx: &CallContext,
        raw: &Map<String, Value>,
    ) -> Result<Outcome, ApiError> {
        let input: BatchDescribeInput = parse_input(raw)?;
        let arns = validate::required(input.model_package_arn_list, "modelPackageArnList")?;
        validate_list(&arns)?;
        let mut summaries = Map::new();
        let mut errors = Map::new();
        for arn in arns {
            if summaries.contains_key(&arn) || errors.contains_key(&arn) {
                continue;
            }
            let found = self.find_package(
                ctx,
                &arn,
                "modelPackageArn",
                true,
                Operation::BatchDescribeModelPackage,
            );
            match found {
                Ok((_, package)) => {
                    summaries.insert(arn, package.batch_summary());
                }
                Err(error) => {
                    // A path the list pattern admits but that names no version (`model-package/a_b`,
                    // `…/group/0`) is a package that does not exist, as for a plain missing version.
                    let error = match error {
                        ApiError::AccessDenied(_) => error,
                        _ => package_missing(&arn),
                    };
                    errors.insert(
                        arn,
                        json!({"ErrorCode": error.code(), "ErrorResponse": error.to_string()}),
                    );
                }
            }
        }
        Ok(Outcome::quiet(json!({
            "ModelPackageSummaries": summaries,
            "BatchDescribeModelPackageErrorMap": errors,
        })))
    }
}

#[cfg(test)]
mod tests;
