//! The SageMaker Model Registry in memory.

use std::sync::Arc;

use govsync_core::{
    ModelPackageArn, ModelPackageGroupArn, ModelPackageGroupName, ModelPackageStatus,
};

use super::*;

#[derive(Debug, Clone, Default)]
struct FakeGroup {
    arn: String,
    description: Option<String>,
    tags: BTreeMap<String, String>,
    policy: Option<String>,
    creation_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct RegistryState {
    groups: BTreeMap<String, FakeGroup>,
    packages: BTreeMap<String, ModelPackage>,
    /// Tags of other resources (e.g. monitoring schedules), by ARN.
    resource_tags: BTreeMap<String, BTreeMap<String, String>>,
    /// Studio user profiles (`domain/profile`) that exist, and the sign-ins asked for.
    studio_profiles: Vec<String>,
    sign_ins: Vec<govsync_core::ports::registry::PresignedUrlRequest>,
}

/// An in-memory SageMaker Model Registry with SageMaker's update semantics (metadata merged,
/// omitted fields kept, `LastModifiedTime` advanced on every change).
#[derive(Debug)]
pub struct FakeRegistry {
    pub(super) account_id: String,
    pub(super) region: String,
    state: Mutex<RegistryState>,
    pub(super) recorder: Recorder<RegistryError>,
    page_size: Mutex<Option<usize>>,
    pub(super) clock: Arc<SteppingClock>,
    /// Endpoints, configurations and models (`fakes/hosting.rs`).
    pub(super) hosting: Mutex<super::hosting::HostingState>,
}

impl FakeRegistry {
    pub fn new(account_id: impl Into<String>, region: impl Into<String>) -> Self {
        Self {
            account_id: account_id.into(),
            region: region.into(),
            state: Mutex::new(RegistryState::default()),
            recorder: Recorder::default(),
            page_size: Mutex::new(None),
            clock: shared_clock(),
            hosting: Mutex::default(),
        }
    }

    /// The clock the fake stamps creation and modification times with.
    pub fn clock(&self) -> &SteppingClock {
        &self.clock
    }

    recorder_methods!(RegistryError);
    paging_methods!();

    /// Every package, by ARN (tests compare snapshots of the registry).
    pub fn packages(&self) -> Vec<ModelPackage> {
        lock(&self.state).packages.values().cloned().collect()
    }

    pub fn group_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:model-package-group/{name}",
            self.region, self.account_id
        )
    }

    pub fn package_arn(&self, group: &str, version: i32) -> String {
        format!(
            "arn:aws:sagemaker:{}:{}:model-package/{group}/{version}",
            self.region, self.account_id
        )
    }

    /// Seeds a group without recording a call; returns its ARN.
    pub fn add_group(&self, name: &str, tags: BTreeMap<String, String>) -> String {
        let arn = self.group_arn(name);
        lock(&self.state).groups.insert(
            name.to_owned(),
            FakeGroup {
                arn: arn.clone(),
                tags,
                creation_time: Some(self.clock.now()),
                ..FakeGroup::default()
            },
        );
        arn
    }

    /// Seeds (or replaces) a package without recording a call.
    pub fn put_package(&self, package: ModelPackage) {
        lock(&self.state)
            .packages
            .insert(package.arn.to_string(), package);
    }

    pub fn package(&self, arn: impl AsRef<str>) -> Option<ModelPackage> {
        lock(&self.state).packages.get(arn.as_ref()).cloned()
    }

    pub fn group_tags(&self, name: &str) -> Option<BTreeMap<String, String>> {
        lock(&self.state)
            .groups
            .get(name)
            .map(|group| group.tags.clone())
    }

    /// Tags any other resource (a monitoring schedule, an endpoint) without recording a call.
    pub fn tag_resource(&self, arn: &str, tags: BTreeMap<String, String>) {
        lock(&self.state).resource_tags.insert(arn.to_owned(), tags);
    }

    pub fn group_names(&self) -> Vec<String> {
        lock(&self.state).groups.keys().cloned().collect()
    }

    fn rejected(operation: &'static str, message: String) -> RegistryError {
        RegistryError::Rejected {
            operation,
            code: "ValidationException".to_owned(),
            message,
        }
    }
}

impl FakeRegistry {
    /// Makes a Studio user profile exist, so sign-ins to it succeed.
    pub fn add_studio_profile(&self, domain_id: &str, user_profile: &str) {
        lock(&self.state)
            .studio_profiles
            .push(format!("{domain_id}/{user_profile}"));
    }

    /// The sign-ins asked for, in order.
    pub fn sign_ins(&self) -> Vec<govsync_core::ports::registry::PresignedUrlRequest> {
        lock(&self.state).sign_ins.clone()
    }
}

impl govsync_core::ports::StudioSignIn for FakeRegistry {
    async fn presigned_url(
        &self,
        request: &govsync_core::ports::registry::PresignedUrlRequest,
    ) -> Result<String, RegistryError> {
        self.recorder.enter("presigned_url").await?;
        let mut state = lock(&self.state);
        let profile = format!("{}/{}", request.domain_id, request.user_profile);
        if !state.studio_profiles.contains(&profile) {
            return Err(RegistryError::NotFound {
                resource: format!("Studio user profile {profile}"),
            });
        }
        state.sign_ins.push(request.clone());
        let count = state.sign_ins.len();
        drop(state);
        self.recorder.leave("presigned_url")?;
        Ok(format!(
            "https://{}.studio.{}.sagemaker.aws/auth?token=fake-{count}",
            request.domain_id, self.region
        ))
    }
}

impl ModelRegistry for FakeRegistry {
    async fn describe_package(&self, arn: &ModelPackageArn) -> Result<ModelPackage, RegistryError> {
        self.recorder.enter("describe_package").await?;
        self.package(arn.as_str())
            .ok_or_else(|| RegistryError::NotFound {
                resource: arn.to_string(),
            })
    }

    async fn list_groups(&self) -> Result<Vec<PackageGroupSummary>, RegistryError> {
        let groups = lock(&self.state)
            .groups
            .iter()
            .map(|(name, group)| {
                Ok(PackageGroupSummary {
                    name: fake_decoded(ModelPackageGroupName::parse(name))?,
                    arn: fake_decoded(ModelPackageGroupArn::parse(&group.arn))?,
                    description: group.description.clone(),
                    status: Some("Completed".to_owned()),
                    creation_time: group.creation_time,
                })
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        self.recorder
            .enter_pages("list_groups", self.pages_for(groups.len()))
            .await?;
        Ok(groups)
    }

    async fn list_packages(
        &self,
        group_name: &ModelPackageGroupName,
    ) -> Result<Vec<PackageSummary>, RegistryError> {
        let packages: Vec<PackageSummary> = lock(&self.state)
            .packages
            .values()
            .filter(|package| package.group_name.as_ref() == Some(group_name))
            .map(|package| PackageSummary {
                arn: package.arn.clone(),
                group_name: package.group_name.clone(),
                version: package.version,
                status: package.status,
                approval_status: package.approval_status,
                creation_time: package.creation_time,
            })
            .collect();
        self.recorder
            .enter_pages("list_packages", self.pages_for(packages.len()))
            .await?;
        Ok(packages)
    }

    async fn update_package(&self, update: &PackageUpdate) -> Result<(), RegistryError> {
        update.validate()?;
        self.recorder.enter("update_package").await?;
        let mut state = lock(&self.state);
        let package =
            state
                .packages
                .get_mut(update.arn.as_str())
                .ok_or_else(|| RegistryError::NotFound {
                    resource: update.arn.to_string(),
                })?;
        let mut metadata = package.customer_metadata.clone();
        metadata.extend(update.metadata_to_set.clone());
        for key in &update.metadata_to_remove {
            metadata.remove(key);
        }
        if metadata.len() > MAX_METADATA_ENTRIES {
            return Err(Self::rejected(
                "UpdateModelPackage",
                format!("{} metadata entries after merge", metadata.len()),
            ));
        }
        package.customer_metadata = metadata;
        if let Some(status) = update.approval_status {
            package.approval_status = Some(status);
        }
        if let Some(description) = &update.approval_description {
            package.approval_description = Some(description.clone());
        }
        if let Some(lifecycle) = &update.lifecycle {
            package.lifecycle = Some(lifecycle.clone());
        }
        if let Some(card) = &update.model_card {
            // SageMaker refuses content changes to an archived card.
            if package
                .facts
                .model_card
                .as_ref()
                .is_some_and(|c| c.is_archived())
            {
                return Err(Self::rejected(
                    "UpdateModelPackage",
                    "an archived model card cannot be modified".to_owned(),
                ));
            }
            package.facts.model_card = Some(govsync_core::model_card::PackageCard {
                content: Some(card.content.clone()),
                status: Some(card.status.clone()),
            });
        }
        package.last_modified_time = Some(self.clock.now());
        self.recorder.leave("update_package")?;
        Ok(())
    }

    async fn create_group(&self, group: &NewPackageGroup) -> Result<String, RegistryError> {
        group.validate()?;
        self.recorder.enter("create_group").await?;
        let arn = self.group_arn(&group.name);
        let mut state = lock(&self.state);
        if state.groups.contains_key(&group.name) {
            return Err(Self::rejected(
                "CreateModelPackageGroup",
                format!("Model Package Group {} already exists", group.name),
            ));
        }
        state.groups.insert(
            group.name.clone(),
            FakeGroup {
                arn: arn.clone(),
                description: group.description.clone(),
                tags: group.tags.clone(),
                policy: None,
                creation_time: Some(self.clock.now()),
            },
        );
        self.recorder.leave("create_group")?;
        Ok(arn)
    }

    async fn batch_describe_packages(
        &self,
        arns: &[ModelPackageArn],
    ) -> Result<govsync_core::ports::batch::BatchDescribed, RegistryError> {
        self.batch_describe(arns).await
    }

    async fn list_tags(&self, arn: &str) -> Result<Vec<(String, String)>, RegistryError> {
        self.recorder.enter("list_tags").await?;
        let state = lock(&self.state);
        if let Some(group) = state.groups.values().find(|group| group.arn == arn) {
            return Ok(group.tags.clone().into_iter().collect());
        }
        if state.packages.contains_key(arn) {
            return Ok(Vec::new());
        }
        if let Some(tags) = state.resource_tags.get(arn) {
            return Ok(tags.clone().into_iter().collect());
        }
        Err(RegistryError::NotFound {
            resource: arn.to_owned(),
        })
    }

    async fn put_group_policy(&self, group_name: &str, policy: &str) -> Result<(), RegistryError> {
        self.recorder.enter("put_group_policy").await?;
        let mut state = lock(&self.state);
        let group = state
            .groups
            .get_mut(group_name)
            .ok_or_else(|| RegistryError::NotFound {
                resource: group_name.to_owned(),
            })?;
        group.policy = Some(policy.to_owned());
        Ok(())
    }

    async fn get_group_policy(&self, group_name: &str) -> Result<Option<String>, RegistryError> {
        self.recorder.enter("get_group_policy").await?;
        Ok(lock(&self.state)
            .groups
            .get(group_name)
            .and_then(|group| group.policy.clone()))
    }

    async fn delete_group_policy(&self, group_name: &str) -> Result<(), RegistryError> {
        self.recorder.enter("delete_group_policy").await?;
        if let Some(group) = lock(&self.state).groups.get_mut(group_name) {
            group.policy = None;
        }
        Ok(())
    }
}

/// A package as SageMaker registers it: version `version` of `group`, pending approval.
pub fn registered_package(registry: &FakeRegistry, group: &str, version: i32) -> ModelPackage {
    let now = registry.clock.now();
    let arn = ModelPackageArn::parse(&registry.package_arn(group, version))
        .expect("a test names a valid group and version");
    ModelPackage {
        group_name: Some(ModelPackageGroupName::parse(group).expect("a test names a valid group")),
        version: Some(version),
        status: Some(ModelPackageStatus::Completed),
        approval_status: Some(ApprovalStatus::PendingManualApproval),
        creation_time: Some(now),
        last_modified_time: Some(now),
        ..ModelPackage::new(arn)
    }
}

/// Calls the ports do not need (tests and operators use them).
impl FakeRegistry {
    pub async fn delete_package(&self, arn: &str) -> Result<(), RegistryError> {
        self.recorder.enter("delete_package").await?;
        match lock(&self.state).packages.remove(arn) {
            Some(_) => Ok(()),
            None => Err(RegistryError::NotFound {
                resource: arn.to_owned(),
            }),
        }
    }

    pub async fn delete_group(&self, group_name: &str) -> Result<(), RegistryError> {
        self.recorder.enter("delete_group").await?;
        let mut state = lock(&self.state);
        let has_packages = state.packages.values().any(|package| {
            package
                .group_name
                .as_ref()
                .map(ModelPackageGroupName::as_str)
                == Some(group_name)
        });
        if has_packages {
            return Err(RegistryError::Conflict {
                operation: "DeleteModelPackageGroup",
                message: format!("group {group_name} still has model packages"),
            });
        }
        match state.groups.remove(group_name) {
            Some(_) => Ok(()),
            None => Err(RegistryError::NotFound {
                resource: group_name.to_owned(),
            }),
        }
    }
}

/// What the fake holds, in core's types; a value a test seeded that does not parse is refused as a
/// service answering it would be.
fn fake_decoded<T>(parsed: Result<T, govsync_core::ValidationError>) -> Result<T, RegistryError> {
    parsed.map_err(|error| RegistryError::Decode {
        operation: "fake registry",
        message: error.to_string(),
    })
}
