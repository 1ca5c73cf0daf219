//! Reads what govsync made in governance for a model package: the `Model` whose External ID is the
//! package ARN, its model group and its use case, through the OpenPages v2 API of the local emulator.

use serde_json::{Value, json};

use crate::error::RunnerError;

/// A reader on the governance API with its own (basic) credentials, separate from the function's.
pub struct GovernanceReader {
    http: reqwest::Client,
    api: String,
    user: String,
    password: String,
}

impl GovernanceReader {
    /// `base_url` is the governance root; the API is under `/opgrc/api/v2`.
    pub fn new(base_url: &str, user: &str, password: &str) -> Result<Self, RunnerError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|error| RunnerError::Governance {
                what: "HTTP client".into(),
                problem: error.to_string(),
            })?;
        Ok(GovernanceReader {
            http,
            api: format!("{}/opgrc/api/v2", base_url.trim_end_matches('/')),
            user: user.to_owned(),
            password: password.to_owned(),
        })
    }

    /// The id of the object of `type_id` whose `Integration:External ID` is `external_id`, if any.
    pub async fn find_by_external_id(
        &self,
        type_id: &str,
        external_id: &str,
    ) -> Result<Option<String>, RunnerError> {
        let statement = format!(
            "SELECT [Resource ID] FROM [{type_id}] WHERE [Integration:External ID] = '{}'",
            external_id.replace('\'', "''")
        );
        let answer = self
            .send(
                &format!("query for {type_id} {external_id}"),
                self.http
                    .post(format!("{}/query", self.api))
                    .json(&json!({ "statement": statement })),
            )
            .await?;
        let id = answer["rows"]
            .as_array()
            .and_then(|rows| rows.first())
            .and_then(|row| row["fields"].as_array())
            .and_then(|fields| fields.iter().find(|field| field["name"] == "Resource ID"))
            .map(|field| match &field["value"] {
                Value::String(id) => id.clone(),
                other => other.to_string(),
            });
        Ok(id)
    }

    /// The object with `id`.
    pub async fn object(&self, id: &str) -> Result<Value, RunnerError> {
        self.send(
            &format!("object {id}"),
            self.http.get(format!("{}/contents/{id}", self.api)),
        )
        .await
    }

    /// `{"model", "model_group", "use_case"}` for a package (by ARN) or, without one, a group (by ARN);
    /// a member is null when it does not exist. Without a `Model`, the model group is looked up by the
    /// group ARN (derived from the package ARN when only that is given).
    pub async fn view(
        &self,
        package_arn: Option<&str>,
        group_arn: Option<&str>,
    ) -> Result<Value, RunnerError> {
        let model = match package_arn {
            Some(arn) => match self.find_by_external_id("Model", arn).await? {
                Some(id) => Some(self.object(&id).await?),
                None => None,
            },
            None => None,
        };
        let group_arn = group_arn
            .map(str::to_owned)
            .or_else(|| package_arn.and_then(group_arn_of));
        let model_group = match model.as_ref().and_then(parent_id) {
            Some(parent) => Some(self.object(&parent).await?),
            None => match &group_arn {
                Some(group_arn) => match self.find_by_external_id("ModelGroup", group_arn).await? {
                    Some(id) => Some(self.object(&id).await?),
                    None => None,
                },
                None => None,
            },
        };
        let use_case = match model_group.as_ref().and_then(parent_id) {
            Some(parent) => Some(self.object(&parent).await?),
            None => None,
        };
        Ok(json!({
            "model": model,
            "model_group": model_group,
            "use_case": use_case,
        }))
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Value, RunnerError> {
        let failed = |problem: String| RunnerError::Governance {
            what: what.to_owned(),
            problem,
        };
        let response = request
            .basic_auth(&self.user, Some(&self.password))
            .send()
            .await
            .map_err(|error| failed(error.to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|error| failed(error.to_string()))?;
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}: {body}")));
        }
        serde_json::from_str(&body).map_err(|error| failed(format!("answer is not JSON: {error}")))
    }
}

fn parent_id(object: &Value) -> Option<String> {
    match &object["primary_parent_id"] {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// `arn:…:model-package/<group>/<version>` → `arn:…:model-package-group/<group>`.
pub fn group_arn_of(package_arn: &str) -> Option<String> {
    let (prefix, resource) = package_arn.split_once(":model-package/")?;
    let (group, _version) = resource.rsplit_once('/')?;
    Some(format!("{prefix}:model-package-group/{group}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_arn_is_derived_from_a_versioned_package_arn() {
        assert_eq!(
            group_arn_of("arn:aws:sagemaker:us-east-1:123456789012:model-package/churn/3")
                .as_deref(),
            Some("arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn")
        );
        assert_eq!(
            group_arn_of("arn:aws:sagemaker:us-east-1:1:model-package-group/x"),
            None
        );
    }

    #[test]
    fn parent_id_reads_strings_and_numbers() {
        assert_eq!(
            parent_id(&json!({"primary_parent_id": "1001"})).as_deref(),
            Some("1001")
        );
        assert_eq!(
            parent_id(&json!({"primary_parent_id": 1001})).as_deref(),
            Some("1001")
        );
        assert_eq!(parent_id(&json!({"primary_parent_id": null})), None);
    }
}
