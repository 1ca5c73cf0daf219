//! Reading a package's artifact through the registry's account (S3, ECR), and checking it against the
//! fingerprint recorded when govsync applied governance's approval (issue #21).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use govsync_core::artifact::{self, ArtifactCheck, ArtifactFingerprint, ContainerArtifact};
use govsync_core::ports::{
    ApprovedArtifact, ApprovedArtifacts, ArtifactReadError, ImageRegistry, ModelPackage,
    ObjectStore, StoreError,
};
use govsync_core::{AccountId, ApprovalStatus, Region, Registry};

type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Fingerprints a package's containers; behind a pointer so the flows stay generic over fewer ports.
pub trait DynArtifactReader: Send + Sync {
    fn fingerprint_boxed<'a>(
        &'a self,
        containers: &'a [ContainerArtifact],
    ) -> Boxed<'a, Result<ArtifactFingerprint, ArtifactReadError>>;
}

/// The S3 and ECR ports of one registry's account.
pub struct ArtifactReader<S, I> {
    pub objects: S,
    pub images: I,
}

impl<S: ObjectStore, I: ImageRegistry> DynArtifactReader for ArtifactReader<S, I> {
    fn fingerprint_boxed<'a>(
        &'a self,
        containers: &'a [ContainerArtifact],
    ) -> Boxed<'a, Result<ArtifactFingerprint, ArtifactReadError>> {
        Box::pin(artifact::fingerprint(
            containers,
            &self.objects,
            &self.images,
        ))
    }
}

/// The artifact reader of each registry, found by (account, region) like its registry client.
#[derive(Clone, Default)]
pub struct ArtifactReaders {
    by_registry: HashMap<(AccountId, Region), Arc<dyn DynArtifactReader>>,
}

impl ArtifactReaders {
    pub fn new(readers: Vec<(Registry, Arc<dyn DynArtifactReader>)>) -> Self {
        Self {
            by_registry: readers
                .into_iter()
                .map(|(registry, reader)| ((registry.account, registry.region), reader))
                .collect(),
        }
    }

    /// One reader per registry from its S3 and ECR ports.
    pub fn from_clients<S, I>(clients: Vec<(Registry, S, I)>) -> Self
    where
        S: ObjectStore + 'static,
        I: ImageRegistry + 'static,
    {
        Self::new(
            clients
                .into_iter()
                .map(|(registry, objects, images)| {
                    let reader: Arc<dyn DynArtifactReader> =
                        Arc::new(ArtifactReader { objects, images });
                    (registry, reader)
                })
                .collect(),
        )
    }

    pub fn get(&self, account: &AccountId, region: &Region) -> Option<&Arc<dyn DynArtifactReader>> {
        self.by_registry.get(&(account.clone(), region.clone()))
    }

    /// Reads the artifact of `package` now; `None` when its registry has no reader.
    pub async fn fingerprint(
        &self,
        package: &ModelPackage,
    ) -> Option<Result<ArtifactFingerprint, ArtifactReadError>> {
        let reader = self.get(package.arn.account(), package.arn.region())?;
        Some(reader.fingerprint_boxed(&package.containers).await)
    }
}

/// Why an approved artifact could not be checked (both retryable or worth a retry).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ArtifactCheckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("reading the artifact: {0}")]
    Read(#[from] ArtifactReadError),
}

/// A described package checked against the artifact governance approved: `None` when the package is
/// not approved, govsync recorded no approved artifact for it, or its registry has no reader.
pub async fn check_approved_artifact<L: ApprovedArtifacts + ?Sized>(
    links: &L,
    readers: &ArtifactReaders,
    package: &ModelPackage,
) -> Result<Option<(ApprovedArtifact, ArtifactCheck)>, ArtifactCheckError> {
    if package.approval_status != Some(ApprovalStatus::Approved)
        || readers
            .get(package.arn.account(), package.arn.region())
            .is_none()
    {
        return Ok(None);
    }
    let Some(approved) = links.approved_artifact(&package.arn).await? else {
        return Ok(None);
    };
    let Some(now) = readers.fingerprint(package).await else {
        return Ok(None);
    };
    let check = artifact::compare(&approved.fingerprint, &now?);
    Ok(Some((approved, check)))
}

/// [`check_approved_artifact`] with the approved artifact already read (`None`: none recorded).
pub async fn check_known_artifact(
    approved: Option<ApprovedArtifact>,
    readers: &ArtifactReaders,
    package: &ModelPackage,
) -> Result<Option<(ApprovedArtifact, ArtifactCheck)>, ArtifactCheckError> {
    if package.approval_status != Some(ApprovalStatus::Approved) {
        return Ok(None);
    }
    let Some(approved) = approved else {
        return Ok(None);
    };
    let Some(now) = readers.fingerprint(package).await else {
        return Ok(None);
    };
    let check = artifact::compare(&approved.fingerprint, &now?);
    Ok(Some((approved, check)))
}
