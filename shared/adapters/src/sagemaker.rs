//! The model-registry port on the SageMaker SDK: one instance per central registry.

use aws_sdk_sagemaker::Client;
use aws_sdk_sagemaker::operation::describe_model_package::DescribeModelPackageOutput;
use aws_sdk_sagemaker::types::{
    MetricsSource, ModelApprovalStatus, ModelLifeCycle as SdkLifecycle, Tag, UserContext,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use govsync_core::artifact::{ContainerArtifact, ModelData};
use govsync_core::model_package::{LINEAGE_KEYS, RegistryFacts, model_card_summary};
use govsync_core::ports::registry::{MAX_GROUP_POLICY_CHARS, RegistryValidationError};
use govsync_core::ports::{
    ApprovalStatus, MetricsReport, ModelLifecycle, ModelPackage, ModelRegistry, NewPackageGroup,
    PackageGroupSummary, PackageSummary, PackageUpdate, RegistryError,
};
use govsync_core::{
    Description, ModelPackageArn, ModelPackageGroupArn, ModelPackageGroupName, ModelPackageStatus,
    SageMakerName,
};

use crate::sdk_error::{FailureClass, classify};

/// Largest page SageMaker serves for the list calls.
const PAGE_SIZE: i32 = 100;

#[derive(Debug, Clone)]
pub struct SageMakerRegistry {
    client: Client,
}

impl SageMakerRegistry {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

fn registry_error<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> RegistryError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let failure = classify(operation, error);
    match failure.class {
        FailureClass::Throttled => RegistryError::Throttled {
            operation,
            message: failure.message,
        },
        FailureClass::Conflict => RegistryError::Conflict {
            operation,
            message: failure.message,
        },
        FailureClass::Transient => RegistryError::Service {
            operation,
            code: failure.code,
            message: failure.message,
            retryable: true,
        },
        FailureClass::Permanent if failure.code == "ResourceNotFound" => RegistryError::NotFound {
            resource: failure.message,
        },
        FailureClass::Permanent => RegistryError::Rejected {
            operation,
            code: failure.code,
            message: failure.message,
        },
        FailureClass::Transport => RegistryError::Transport {
            operation,
            message: failure.message,
        },
    }
}

fn is_validation<E>(error: &SdkError<E, HttpResponse>) -> bool
where
    E: ProvideErrorMetadata,
{
    error
        .as_service_error()
        .is_some_and(|service| service.code() == Some("ValidationException"))
}

fn to_chrono(time: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let time = time?;
    DateTime::<Utc>::from_timestamp(time.secs(), time.subsec_nanos())
}

fn approval_from_sdk(
    operation: &'static str,
    status: Option<&ModelApprovalStatus>,
) -> Result<Option<ApprovalStatus>, RegistryError> {
    let Some(status) = status else {
        return Ok(None);
    };
    ApprovalStatus::parse(status.as_str())
        .map(Some)
        .map_err(|error| RegistryError::Decode {
            operation,
            message: error.to_string(),
        })
}

fn approval_to_sdk(status: ApprovalStatus) -> ModelApprovalStatus {
    match status {
        ApprovalStatus::Approved => ModelApprovalStatus::Approved,
        ApprovalStatus::Rejected => ModelApprovalStatus::Rejected,
        ApprovalStatus::PendingManualApproval => ModelApprovalStatus::PendingManualApproval,
    }
}

/// The creator as SageMaker records it: the Studio user profile first (with a shared execution role,
/// the IAM identity names every Studio user alike), then the IAM identity.
fn user_of(context: Option<&UserContext>) -> Option<String> {
    let context = context?;
    context
        .user_profile_name()
        .or(context.iam_identity().and_then(|identity| identity.arn()))
        .or(context.user_profile_arn())
        .map(str::to_owned)
}

#[cfg(test)]
mod creator_tests {
    use aws_sdk_sagemaker::types::IamIdentity;

    use super::*;

    #[test]
    fn the_studio_user_profile_names_the_creator_before_the_shared_role() {
        let role = "arn:aws:sts::123456789012:assumed-role/SageMakerExecutionRole/SageMaker";
        let studio = UserContext::builder()
            .user_profile_name("alice")
            .iam_identity(IamIdentity::builder().arn(role).build())
            .build();
        assert_eq!(user_of(Some(&studio)).as_deref(), Some("alice"));
        let plain = UserContext::builder()
            .iam_identity(IamIdentity::builder().arn(role).build())
            .build();
        assert_eq!(user_of(Some(&plain)).as_deref(), Some(role));
        assert_eq!(user_of(None), None);
    }

    #[test]
    fn describe_reads_domain_task_payload_baselines_lineage_and_the_card() {
        use aws_sdk_sagemaker::types::{
            DriftCheckBaselines, DriftCheckModelQuality, MetadataProperties, ModelCardStatus,
            ModelPackageModelCard,
        };
        let source = |uri: &str| {
            MetricsSource::builder()
                .content_type("application/json")
                .s3_uri(uri)
                .build()
        };
        let output = DescribeModelPackageOutput::builder()
            .domain("MACHINE_LEARNING")
            .task("CLASSIFICATION")
            .sample_payload_url("s3://b/payload.tar.gz")
            .drift_check_baselines(
                DriftCheckBaselines::builder()
                    .model_quality(
                        DriftCheckModelQuality::builder()
                            .statistics(source("s3://b/stats.json"))
                            .constraints(source("s3://b/constraints.json"))
                            .build(),
                    )
                    .build(),
            )
            .metadata_properties(
                MetadataProperties::builder()
                    .generated_by("arn:pipeline")
                    .project_id("p-1")
                    .build(),
            )
            .model_card(
                ModelPackageModelCard::builder()
                    .model_card_status(ModelCardStatus::Draft)
                    .model_card_content(
                        r#"{"intended_uses": {"purpose_of_model": "score credit"}}"#,
                    )
                    .build(),
            )
            .build();
        let facts = registry_facts(&output);
        assert_eq!(facts.domain.as_deref(), Some("MACHINE_LEARNING"));
        assert_eq!(facts.task.as_deref(), Some("CLASSIFICATION"));
        assert_eq!(
            facts.sample_payload_url.as_deref(),
            Some("s3://b/payload.tar.gz")
        );
        assert_eq!(
            facts.drift_baseline_uris,
            ["s3://b/stats.json", "s3://b/constraints.json"]
        );
        assert_eq!(
            facts.lineage,
            [
                ("GeneratedBy".to_owned(), "arn:pipeline".to_owned()),
                ("ProjectId".to_owned(), "p-1".to_owned()),
            ]
        );
        assert_eq!(
            facts.model_card_summary.as_deref(),
            Some("Draft: score credit")
        );
        assert_eq!(
            registry_facts(&DescribeModelPackageOutput::builder().build()),
            RegistryFacts::default()
        );
    }
}

/// `ModelLifeCycle` as SageMaker answered it, in core's type: names it would not accept are an
/// unexpected response; a description is kept within its limit.
fn lifecycle_from_sdk(
    operation: &'static str,
    lifecycle: Option<&SdkLifecycle>,
) -> Result<Option<ModelLifecycle>, RegistryError> {
    let Some(lifecycle) = lifecycle else {
        return Ok(None);
    };
    let (Some(stage), Some(stage_status)) = (lifecycle.stage(), lifecycle.stage_status()) else {
        return Ok(None);
    };
    Ok(Some(ModelLifecycle {
        stage: decoded(
            operation,
            "ModelLifeCycle.Stage",
            SageMakerName::parse(stage),
        )?,
        stage_status: decoded(
            operation,
            "ModelLifeCycle.StageStatus",
            SageMakerName::parse(stage_status),
        )?,
        stage_description: lifecycle.stage_description().map(Description::truncating),
    }))
}

/// A container as the artifact fingerprint reads it.
fn container_artifact(
    container: &aws_sdk_sagemaker::types::ModelPackageContainerDefinition,
) -> ContainerArtifact {
    let text = |value: Option<&str>| {
        value
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let source = container
        .model_data_source()
        .and_then(|source| source.s3_data_source());
    let model_data = match (text(container.model_data_url()), source) {
        (Some(url), _) => Some(ModelData::Object(url)),
        (None, Some(source)) => text(source.s3_uri()).map(|uri| match source.s3_data_type() {
            Some(aws_sdk_sagemaker::types::S3ModelDataType::S3Object) => ModelData::Object(uri),
            _ => ModelData::Prefix(uri),
        }),
        (None, None) => None,
    };
    ContainerArtifact {
        image: text(container.image()),
        image_digest: text(container.image_digest()),
        model_data,
        model_data_etag: text(container.model_data_e_tag()),
    }
}

fn push_report(reports: &mut Vec<MetricsReport>, name: &str, source: Option<&MetricsSource>) {
    if let Some(uri) = source.and_then(MetricsSource::s3_uri) {
        reports.push(MetricsReport {
            name: name.to_owned(),
            s3_uri: uri.to_owned(),
        });
    }
}

fn metrics_of(metrics: Option<&aws_sdk_sagemaker::types::ModelMetrics>) -> Vec<MetricsReport> {
    let mut reports = Vec::new();
    let Some(metrics) = metrics else {
        return reports;
    };
    if let Some(quality) = metrics.model_quality() {
        push_report(
            &mut reports,
            "ModelQuality.Statistics",
            quality.statistics(),
        );
        push_report(
            &mut reports,
            "ModelQuality.Constraints",
            quality.constraints(),
        );
    }
    if let Some(quality) = metrics.model_data_quality() {
        push_report(
            &mut reports,
            "ModelDataQuality.Statistics",
            quality.statistics(),
        );
        push_report(
            &mut reports,
            "ModelDataQuality.Constraints",
            quality.constraints(),
        );
    }
    if let Some(bias) = metrics.bias() {
        push_report(&mut reports, "Bias.Report", bias.report());
        push_report(
            &mut reports,
            "Bias.PreTrainingReport",
            bias.pre_training_report(),
        );
        push_report(
            &mut reports,
            "Bias.PostTrainingReport",
            bias.post_training_report(),
        );
    }
    if let Some(explainability) = metrics.explainability() {
        push_report(
            &mut reports,
            "Explainability.Report",
            explainability.report(),
        );
    }
    reports
}

/// The S3 URIs of `DriftCheckBaselines`, in the API's member order.
fn drift_baseline_uris(
    baselines: Option<&aws_sdk_sagemaker::types::DriftCheckBaselines>,
) -> Vec<String> {
    let Some(baselines) = baselines else {
        return Vec::new();
    };
    fn metric(source: Option<&MetricsSource>) -> Option<&str> {
        source.and_then(MetricsSource::s3_uri)
    }
    fn file(source: Option<&aws_sdk_sagemaker::types::FileSource>) -> Option<&str> {
        source.and_then(aws_sdk_sagemaker::types::FileSource::s3_uri)
    }
    let mut uris = Vec::new();
    if let Some(bias) = baselines.bias() {
        uris.extend([
            file(bias.config_file()),
            metric(bias.pre_training_constraints()),
            metric(bias.post_training_constraints()),
        ]);
    }
    if let Some(explainability) = baselines.explainability() {
        uris.extend([
            metric(explainability.constraints()),
            file(explainability.config_file()),
        ]);
    }
    if let Some(quality) = baselines.model_quality() {
        uris.extend([metric(quality.statistics()), metric(quality.constraints())]);
    }
    if let Some(quality) = baselines.model_data_quality() {
        uris.extend([metric(quality.statistics()), metric(quality.constraints())]);
    }
    uris.into_iter().flatten().map(str::to_owned).collect()
}

/// What else `DescribeModelPackage` records, for the tenant's field mapping.
fn registry_facts(output: &DescribeModelPackageOutput) -> RegistryFacts {
    let text = |value: Option<&str>| value.filter(|v| !v.trim().is_empty()).map(str::to_owned);
    let lineage = output
        .metadata_properties()
        .map(|properties| {
            let values = [
                properties.generated_by(),
                properties.repository(),
                properties.commit_id(),
                properties.project_id(),
            ];
            LINEAGE_KEYS
                .iter()
                .zip(values)
                .filter_map(|(key, value)| Some(((*key).to_owned(), value?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    let card = output.model_card();
    RegistryFacts {
        domain: text(output.domain()),
        task: text(output.task()),
        sample_payload_url: text(output.sample_payload_url()),
        drift_baseline_uris: drift_baseline_uris(output.drift_check_baselines()),
        lineage,
        model_card_summary: model_card_summary(
            card.and_then(|c| c.model_card_content()),
            card.and_then(|c| c.model_card_status())
                .map(|status| status.as_str()),
        ),
        model_card: card.map(|c| govsync_core::model_card::PackageCard {
            content: c.model_card_content().map(str::to_owned),
            status: c
                .model_card_status()
                .map(|status| status.as_str().to_owned()),
        }),
    }
}

/// A value SageMaker answered with, in core's type; a value that does not parse is an unexpected
/// response, never passed on as text.
fn decoded<T>(
    operation: &'static str,
    what: &str,
    parsed: Result<T, govsync_core::ValidationError>,
) -> Result<T, RegistryError> {
    parsed.map_err(|error| RegistryError::Decode {
        operation,
        message: format!("{what}: {error}"),
    })
}

impl govsync_core::ports::StudioSignIn for SageMakerRegistry {
    async fn presigned_url(
        &self,
        request: &govsync_core::ports::registry::PresignedUrlRequest,
    ) -> Result<String, RegistryError> {
        const OP: &str = "CreatePresignedDomainUrl";
        let output = self
            .client
            .create_presigned_domain_url()
            .domain_id(&request.domain_id)
            .user_profile_name(&request.user_profile)
            .set_space_name(request.space_name.clone())
            .expires_in_seconds(request.expires_in_seconds as i32)
            .session_expiration_duration_in_seconds(request.session_seconds as i32)
            .landing_uri(&request.landing_uri)
            .send()
            .await;
        match output {
            Ok(output) => {
                output
                    .authorized_url()
                    .map(str::to_owned)
                    .ok_or_else(|| RegistryError::Decode {
                        operation: OP,
                        message: "no AuthorizedUrl in the answer".to_owned(),
                    })
            }
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found()) =>
            {
                Err(RegistryError::NotFound {
                    resource: format!(
                        "Studio user profile {}/{}",
                        request.domain_id, request.user_profile
                    ),
                })
            }
            Err(error) => Err(registry_error(OP, &error)),
        }
    }
}

impl ModelRegistry for SageMakerRegistry {
    async fn describe_package(&self, arn: &ModelPackageArn) -> Result<ModelPackage, RegistryError> {
        const OP: &str = "DescribeModelPackage";
        let requested = arn;
        let arn = arn.as_str();
        let output = match self
            .client
            .describe_model_package()
            .model_package_name(arn)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if is_validation(&error) => {
                tracing::info!(arn, "model package not found (ValidationException)");
                return Err(RegistryError::NotFound {
                    resource: arn.to_owned(),
                });
            }
            Err(error) => return Err(registry_error(OP, &error)),
        };
        let containers = output
            .inference_specification()
            .map(|spec| spec.containers())
            .unwrap_or_default();
        Ok(ModelPackage {
            arn: match output.model_package_arn() {
                Some(arn) => decoded(OP, "ModelPackageArn", ModelPackageArn::parse(arn))?,
                None => requested.clone(),
            },
            group_name: output
                .model_package_group_name()
                .map(|name| {
                    decoded(
                        OP,
                        "ModelPackageGroupName",
                        ModelPackageGroupName::parse(name),
                    )
                })
                .transpose()?,
            version: output.model_package_version(),
            description: output.model_package_description().map(str::to_owned),
            status: output
                .model_package_status()
                .map(|status| {
                    decoded(
                        OP,
                        "ModelPackageStatus",
                        ModelPackageStatus::parse(status.as_str()),
                    )
                })
                .transpose()?,
            approval_status: approval_from_sdk(OP, output.model_approval_status())?,
            approval_description: output.approval_description().map(str::to_owned),
            creation_time: to_chrono(output.creation_time()),
            last_modified_time: to_chrono(output.last_modified_time()),
            customer_metadata: output
                .customer_metadata_properties()
                .map(|properties| {
                    properties
                        .iter()
                        .map(|(key, value)| (key.clone(), value.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            lifecycle: lifecycle_from_sdk(OP, output.model_life_cycle())?,
            inference_images: containers
                .iter()
                .filter_map(|container| container.image().map(str::to_owned))
                .collect(),
            model_data_urls: containers
                .iter()
                .filter_map(|container| container.model_data_url().map(str::to_owned))
                .collect(),
            containers: containers.iter().map(container_artifact).collect(),
            metrics: metrics_of(output.model_metrics()),
            created_by: user_of(output.created_by()),
            last_modified_by: user_of(output.last_modified_by()),
            facts: registry_facts(&output),
        })
    }

    async fn list_groups(&self) -> Result<Vec<PackageGroupSummary>, RegistryError> {
        const OP: &str = "ListModelPackageGroups";
        let mut groups = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_model_package_groups()
                .max_results(PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| registry_error(OP, &error))?;
            for summary in page.model_package_group_summary_list() {
                let (Some(name), Some(arn)) = (
                    summary.model_package_group_name(),
                    summary.model_package_group_arn(),
                ) else {
                    return Err(RegistryError::Decode {
                        operation: OP,
                        message: "group summary without a name or ARN".to_owned(),
                    });
                };
                groups.push(PackageGroupSummary {
                    name: decoded(
                        OP,
                        "ModelPackageGroupName",
                        ModelPackageGroupName::parse(name),
                    )?,
                    arn: decoded(OP, "ModelPackageGroupArn", ModelPackageGroupArn::parse(arn))?,
                    description: summary.model_package_group_description().map(str::to_owned),
                    status: summary
                        .model_package_group_status()
                        .map(|status| status.as_str().to_owned()),
                    creation_time: to_chrono(summary.creation_time()),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(groups),
            }
        }
    }

    async fn list_packages(
        &self,
        group_name: &ModelPackageGroupName,
    ) -> Result<Vec<PackageSummary>, RegistryError> {
        const OP: &str = "ListModelPackages";
        let mut packages = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_model_packages()
                .model_package_group_name(group_name.as_str())
                .max_results(PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| registry_error(OP, &error))?;
            for summary in page.model_package_summary_list() {
                let Some(arn) = summary.model_package_arn() else {
                    return Err(RegistryError::Decode {
                        operation: OP,
                        message: "package summary without an ARN".to_owned(),
                    });
                };
                packages.push(PackageSummary {
                    arn: decoded(OP, "ModelPackageArn", ModelPackageArn::parse(arn))?,
                    group_name: summary
                        .model_package_group_name()
                        .map(|name| {
                            decoded(
                                OP,
                                "ModelPackageGroupName",
                                ModelPackageGroupName::parse(name),
                            )
                        })
                        .transpose()?,
                    version: summary.model_package_version(),
                    status: summary
                        .model_package_status()
                        .map(|status| {
                            decoded(
                                OP,
                                "ModelPackageStatus",
                                ModelPackageStatus::parse(status.as_str()),
                            )
                        })
                        .transpose()?,
                    approval_status: approval_from_sdk(OP, summary.model_approval_status())?,
                    creation_time: to_chrono(summary.creation_time()),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(packages),
            }
        }
    }

    async fn update_package(&self, update: &PackageUpdate) -> Result<(), RegistryError> {
        const OP: &str = "UpdateModelPackage";
        update.validate()?;
        let mut request = self
            .client
            .update_model_package()
            .model_package_arn(update.arn.as_str())
            .set_model_approval_status(update.approval_status.map(approval_to_sdk))
            .set_approval_description(update.approval_description.clone())
            .set_client_token(update.client_token.clone());
        if !update.metadata_to_set.is_empty() {
            request = request.set_customer_metadata_properties(Some(
                update
                    .metadata_to_set
                    .iter()
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect(),
            ));
        }
        if !update.metadata_to_remove.is_empty() {
            request = request.set_customer_metadata_properties_to_remove(Some(
                update.metadata_to_remove.clone(),
            ));
        }
        if let Some(lifecycle) = &update.lifecycle {
            let lifecycle = SdkLifecycle::builder()
                .stage(lifecycle.stage.as_str())
                .stage_status(lifecycle.stage_status.as_str())
                .set_stage_description(
                    lifecycle
                        .stage_description
                        .as_ref()
                        .map(|description| description.as_str().to_owned()),
                )
                .build();
            request = request.model_life_cycle(lifecycle);
        }
        if let Some(card) = &update.model_card {
            request = request.model_card(
                aws_sdk_sagemaker::types::ModelPackageModelCard::builder()
                    .model_card_content(card.content.clone())
                    .model_card_status(aws_sdk_sagemaker::types::ModelCardStatus::from(
                        card.status.as_str(),
                    ))
                    .build(),
            );
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(error) if is_validation(&error) => {
                let failure = classify(OP, &error);
                if failure.message.contains("does not exist") {
                    Err(RegistryError::NotFound {
                        resource: update.arn.to_string(),
                    })
                } else {
                    Err(RegistryError::Rejected {
                        operation: OP,
                        code: failure.code,
                        message: failure.message,
                    })
                }
            }
            Err(error) => Err(registry_error(OP, &error)),
        }
    }

    async fn create_group(&self, group: &NewPackageGroup) -> Result<String, RegistryError> {
        const OP: &str = "CreateModelPackageGroup";
        group.validate()?;
        let tags = group
            .tags
            .iter()
            .map(|(key, value)| Tag::builder().key(key).value(value).build())
            .collect::<Vec<_>>();
        let output = self
            .client
            .create_model_package_group()
            .model_package_group_name(&group.name)
            .set_model_package_group_description(group.description.clone())
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|error| registry_error(OP, &error))?;
        output
            .model_package_group_arn()
            .map(str::to_owned)
            .ok_or_else(|| RegistryError::Decode {
                operation: OP,
                message: "response without ModelPackageGroupArn".to_owned(),
            })
    }

    async fn batch_describe_packages(
        &self,
        arns: &[ModelPackageArn],
    ) -> Result<govsync_core::ports::batch::BatchDescribed, RegistryError> {
        self.batch_describe(arns).await
    }

    async fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>, RegistryError> {
        const OP: &str = "ListTags";
        let mut tags = Vec::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .client
                .list_tags()
                .resource_arn(arn)
                .max_results(PAGE_SIZE)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| registry_error(OP, &error))?;
            tags.extend(page.tags().iter().filter_map(|tag| {
                Some((
                    tag.key()?.to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                ))
            }));
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(tags),
            }
        }
    }

    async fn put_group_policy(&self, group_name: &str, policy: &str) -> Result<(), RegistryError> {
        let chars = policy.chars().count();
        if chars == 0 || chars > MAX_GROUP_POLICY_CHARS {
            return Err(RegistryValidationError {
                key: "ResourcePolicy".to_owned(),
                reason: format!("{chars} characters, must be 1 to {MAX_GROUP_POLICY_CHARS}"),
            }
            .into());
        }
        self.client
            .put_model_package_group_policy()
            .model_package_group_name(group_name)
            .resource_policy(policy)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| registry_error("PutModelPackageGroupPolicy", &error))
    }

    /// SageMaker answers a group without a policy with `ValidationException`: that is `None`.
    async fn get_group_policy(&self, group_name: &str) -> Result<Option<String>, RegistryError> {
        const OP: &str = "GetModelPackageGroupPolicy";
        match self
            .client
            .get_model_package_group_policy()
            .model_package_group_name(group_name)
            .send()
            .await
        {
            Ok(output) => Ok(output.resource_policy().map(str::to_owned)),
            Err(error) if is_validation(&error) => Ok(None),
            Err(error) => match registry_error(OP, &error) {
                RegistryError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn delete_group_policy(&self, group_name: &str) -> Result<(), RegistryError> {
        self.client
            .delete_model_package_group_policy()
            .model_package_group_name(group_name)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| registry_error("DeleteModelPackageGroupPolicy", &error))
    }
}

/// Calls the ports do not need (tests and operators use them).
impl SageMakerRegistry {
    pub async fn delete_package(&self, arn: &str) -> Result<(), RegistryError> {
        self.client
            .delete_model_package()
            .model_package_name(arn)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| registry_error("DeleteModelPackage", &error))
    }

    pub async fn delete_group(&self, group_name: &str) -> Result<(), RegistryError> {
        self.client
            .delete_model_package_group()
            .model_package_group_name(group_name)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| registry_error("DeleteModelPackageGroup", &error))
    }
}

/// The hosting port (endpoints, read-only) on the same client.
mod hosting;

/// BatchDescribeModelPackage, for the reconciler's fast pass (issue #17).
mod batch;
pub use batch::{BatchDescribeFailure, BatchDescribed, MAX_BATCH_ARNS, SummarizedPackage};

#[cfg(test)]
mod tests;
